"""Call logic: the caller leg (hunt with press-1 confirmation) and the agent's confirm leg.

Flows are plain ``async def`` functions over :class:`~hotline.flow.ports.CallSession`;
they know nothing about sockets, so tests can drive them with the PBX simulator
over real sockets or with any object that has the same methods.
"""
