"""Every call the client makes, as data: which RPC, the request, and what of the response
the caller gets. The sync and asyncio clients both build their calls here and differ only in
how they send them, so the two cannot drift apart.
"""
