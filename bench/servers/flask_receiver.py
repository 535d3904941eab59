"""Baseline (b): the ten-line Flask receiver of HCL's webhook article, run as it shows it.

HCL's article receives Compass deliveries with a small Flask app on its development server
(`app.run()`), checking the HMAC-SHA1 of the body and printing the payload. The lines
between the markers are that receiver; only the port comes from the command line, and its
print goes to /dev/null (the benchmark's stdout is not a terminal).
Usage: flask_receiver.py PORT
"""

import sys

# ---- the receiver --------------------------------------------------------------------
import hashlib, hmac
from flask import Flask, request
app = Flask(__name__)
@app.route("/compassdefect", methods=["POST"])
def compassdefect():
    sig = hmac.new(b"bench-secret", request.get_data(), hashlib.sha1).hexdigest()
    if not hmac.compare_digest(sig, request.headers.get("X-Compass-Signature", "")):
        return {"message": "signature mismatch"}, 500
    print(request.get_json())
    return {"message": "Payload received successfully"}, 200
# ---- end of the receiver -------------------------------------------------------------

if __name__ == "__main__":
    import logging
    import os
    logging.getLogger("werkzeug").setLevel(logging.ERROR)   # no access log line per request
    sys.stdout = open(os.devnull, "w")
    app.run(port=int(sys.argv[1]))
