"""Voice prompts: the slot catalogue, the file layout, conversion and startup checks.

Import the modules directly (``hotline.prompts.catalogue``, ``.store``,
``.check``, ``.convert``, ``.commands``); this package stays empty so that the
runtime never pulls in pydub just to name a prompt file.
"""
