"""A real SMTP server on loopback for the tests (aiosmtpd): every message it accepts is written to
DIRECTORY as <n>.json ({"mail_from", "rcpt_tos", "data"}). Prints its port once it listens.

    python3 smtp-sink.py DIRECTORY [--refuse-rcpt ADDRESS]
"""
import argparse
import json
import os
import socket
import threading

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, directory, refused):
        self.directory = directory
        self.refused = refused
        self.count = 0
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, options):
        if address in self.refused:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
            number = self.count
        message = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "data": envelope.content.decode("utf-8", "replace"),
        }
        path = os.path.join(self.directory, f"{number}.json")
        with open(path + ".tmp", "w") as file:
            json.dump(message, file)
        os.rename(path + ".tmp", path)
        return "250 Message accepted"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("directory")
    parser.add_argument("--refuse-rcpt", action="append", default=[])
    arguments = parser.parse_args()
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    controller = Controller(Sink(arguments.directory, set(arguments.refuse_rcpt)), hostname="127.0.0.1", port=port)
    controller.start()
    print(port, flush=True)
    # Serves until killed.
    threading.Event().wait()


if __name__ == "__main__":
    main()
