"""The web chat's launcher: the same server as `policyqa serve` (web chat at /, JSON API at /api).

    python app.py [--host 127.0.0.1] [--port 7860] [--index DIR] [--auth-file FILE]
"""

import sys

from assistant.cli import main

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
