"""The live web page of ``hotline run`` (issue 16): who is waiting, who is ringing, how today went.

* :mod:`~hotline.config.http`: the ``[http]`` section (address, credentials);
* :mod:`~hotline.web.server`: the one aiohttp server in the runtime's event loop;
* :mod:`~hotline.web.auth`: credentials on every request beyond loopback;
* :mod:`~hotline.web.snapshot`: what the page shows, as JSON;
* :mod:`~hotline.web.push`: one producer of snapshots for all open pages;
* :mod:`~hotline.web.dashboard`: the page's routes; ``static/`` its HTML, script, style;
* :mod:`~hotline.web.app`: all of it put together for the runtime.
"""
