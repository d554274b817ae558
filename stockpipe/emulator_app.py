"""The AWS emulator as an ASGI/WSGI app for Hypercorn: moto's dispatcher for every service.

Served by Hypercorn rather than moto's Werkzeug server because the KCL daemon's Kinesis
client speaks HTTP/2 only (see docs/emulator.md).
"""

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

app = DomainDispatcherApplication(create_backend_app)
