"""The NavTalk Video Synthesis API as this project knows it: the contract (fields,
ranges, voices, methods, failure codes) and the HTTP client. Plain Python: no ORM, no
Django settings, so the portal, the local engine and the benchmarks all read it."""
