"""A stand-in for the two Stripe calls the api makes (Checkout sessions and refunds), for deploy/schemathesis.sh: the
checkout and refund operations then answer as they would with Stripe, and nothing leaves the machine.

usage: schemathesis-stripe.py PORT_FILE   (serves on a free port of 127.0.0.1, written to PORT_FILE once listening)
Standard library only.
"""

import http.server
import json
import sys
import uuid


class FakeStripe(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        token = uuid.uuid4().hex
        if self.path == "/v1/checkout/sessions":
            status, body = 200, {"id": f"cs_test_{token}", "url": f"https://checkout.stripe.test/c/pay/cs_test_{token}"}
        elif self.path == "/v1/refunds":
            status, body = 200, {"id": f"re_test_{token}", "status": "succeeded"}
        else:
            status, body = 404, {"error": {"message": f"Unrecognized request URL (POST: {self.path})"}}
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeStripe)
with open(sys.argv[1], "w") as port_file:
    port_file.write(str(server.server_address[1]))
server.serve_forever()
