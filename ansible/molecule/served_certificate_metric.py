"""Prints the /metrics lines an app process publishes for the certificate served at
ADDRESS:PORT (a Molecule scenario has Nginx and certbot but no app to scrape).

    python ansible/molecule/served_certificate_metric.py 10.89.0.7:443 [SNI_NAME]
"""

import sys

from app.services import metrics
from app.services.operations import served_certificate


def main(address: str, name: str = "") -> None:
    certificate = served_certificate.read(address, name)
    for line in metrics.exposition({}, None, certificate).decode().splitlines():
        if line.startswith("natter_served_certificate"):
            print(line)


if __name__ == "__main__":
    main(*sys.argv[1:])
