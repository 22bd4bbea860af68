"""The relay of a Lantern notebook instance run as a Slurm job on another node than the server's.

Started by the job's batch script, outside the sandbox but inside the job, with Debian's
/usr/bin/python3 (standard library only). It carries two kinds of connection, byte for byte:

  notebook  the server -> TLS on TCP (this node, an ephemeral port) -> Jupyter's UNIX socket.
            The certificate and its key are the instance's own, made by the server (which pins
            the certificate's SHA-256 fingerprint: no CA is involved). The first line of each
            connection must be the instance's relay secret; anything else closes the connection
            before Jupyter is reached.
  platform  ngsci in the sandbox -> a UNIX socket bound into the sandbox -> the server's
            /platform/v1 over TCP (TLS when the URL is https). It goes to that one address and no
            other: the sandbox has no network, and this is its only way out.

Once both listen, it writes {"host", "port", "fingerprint256"} to --address-file (atomically) for
the server to read. It exits on SIGTERM or SIGINT, and when its parent (the batch script) dies, so
it lives exactly as long as the job; and should it end first (a crash, a kill), the batch script
stops the notebook and the job fails with its own exit code, which the server reads as the relay's
failure. Refusals and failures are written to stderr: the job's output.
"""

import argparse
import asyncio
import ctypes
import hashlib
import hmac
import json
import os
import signal
import socket
import ssl
import sys
import urllib.parse

# The secret's line is short; a client that sends this much without a newline is not ours.
MAX_FIRST_LINE = 512
# A client that has not sent its secret by then is dropped.
FIRST_LINE_SECONDS = 10
CHUNK = 256 * 1024
PR_SET_PDEATHSIG = 1


def log(message: str) -> None:
    print(f'slurm-relay: {message}', file=sys.stderr, flush=True)


def fingerprint256(cert_path: str) -> str:
    """The certificate's SHA-256 fingerprint, as Node prints it (AB:CD:...)."""
    with open(cert_path, encoding='ascii') as handle:
        der = ssl.PEM_cert_to_DER_cert(handle.read())
    digest = hashlib.sha256(der).hexdigest().upper()
    return ':'.join(digest[i:i + 2] for i in range(0, len(digest), 2))


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copies until the reader ends, then ends the writer (half-closed where it can be)."""
    try:
        while True:
            data = await reader.read(CHUNK)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError, ssl.SSLError):
        pass
    finally:
        try:
            if writer.can_write_eof():
                writer.write_eof()
            else:
                writer.close()
        except (ConnectionError, OSError, RuntimeError):
            writer.close()


async def join(
    reader_a: asyncio.StreamReader,
    writer_a: asyncio.StreamWriter,
    reader_b: asyncio.StreamReader,
    writer_b: asyncio.StreamWriter,
) -> None:
    """Both directions at once, until both have ended; then both closed."""
    try:
        await asyncio.gather(pipe(reader_a, writer_b), pipe(reader_b, writer_a))
    finally:
        writer_a.close()
        writer_b.close()


async def first_line(reader: asyncio.StreamReader):
    """The first line (without its newline) and what came after it, or (None, why)."""
    received = b''
    while b'\n' not in received:
        if len(received) >= MAX_FIRST_LINE:
            return None, f'no newline in the first {MAX_FIRST_LINE} bytes'
        data = await reader.read(MAX_FIRST_LINE - len(received))
        if not data:
            return None, 'closed before its first line'
        received += data
    line, _, rest = received.partition(b'\n')
    return (line[:-1] if line.endswith(b'\r') else line, rest), ''


class Relay:
    def __init__(self, options: argparse.Namespace) -> None:
        self.options = options
        with open(options.secret_file, 'rb') as handle:
            self.secret = handle.read().strip()
        if len(self.secret) < 16:
            raise SystemExit('slurm-relay: the relay secret is missing or shorter than 16 bytes')
        platform = urllib.parse.urlsplit(options.platform_url)
        if platform.scheme not in ('http', 'https') or platform.hostname is None:
            raise SystemExit(f'slurm-relay: --platform-url is not an http(s) URL: {options.platform_url}')
        self.platform_host = platform.hostname
        self.platform_port = platform.port or (443 if platform.scheme == 'https' else 80)
        self.platform_tls = ssl.create_default_context() if platform.scheme == 'https' else None

    async def notebook(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info('peername')
        try:
            found, why = await asyncio.wait_for(first_line(reader), FIRST_LINE_SECONDS)
        except asyncio.TimeoutError:
            found, why = None, f'no first line in {FIRST_LINE_SECONDS} s'
        except (ConnectionError, OSError, ssl.SSLError) as error:
            found, why = None, f'broke off before its first line ({error})'
        if found is not None and not hmac.compare_digest(found[0], self.secret):
            found, why = None, 'a wrong relay secret'
        if found is None:
            log(f'refused a connection from {peer}: {why}')
            writer.close()
            return
        try:
            jupyter_reader, jupyter_writer = await asyncio.open_unix_connection(
                self.options.jupyter_socket, limit=CHUNK
            )
        except OSError as error:
            log(f'the notebook does not answer on {self.options.jupyter_socket}: {error}')
            writer.close()
            return
        if found[1]:
            jupyter_writer.write(found[1])
        await join(reader, writer, jupyter_reader, jupyter_writer)

    async def platform(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection(
                self.platform_host,
                self.platform_port,
                ssl=self.platform_tls,
                server_hostname=self.platform_host if self.platform_tls else None,
                limit=CHUNK,
            )
        except (OSError, ssl.SSLError) as error:
            log(f'the platform does not answer at {self.platform_host}:{self.platform_port}: {error}')
            writer.close()
            return
        await join(reader, writer, server_reader, server_writer)

    async def serve(self) -> None:
        options = self.options
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(options.cert, options.key)
        notebook = await asyncio.start_server(
            self.notebook, host=options.bind, port=0, ssl=context, limit=CHUNK
        )
        if os.path.exists(options.platform_socket):
            os.unlink(options.platform_socket)
        platform = await asyncio.start_unix_server(
            self.platform, path=options.platform_socket, limit=CHUNK
        )
        # The sandbox's user connects to it; its folder decides who else can.
        os.chmod(options.platform_socket, 0o666)
        port = notebook.sockets[0].getsockname()[1]
        host = options.advertise or options.bind
        if host in ('0.0.0.0', '::', ''):
            host = socket.gethostname()
        address = {'host': host, 'port': port, 'fingerprint256': fingerprint256(options.cert)}
        partial = f'{options.address_file}.partial'
        with open(partial, 'w', encoding='utf-8') as handle:
            json.dump(address, handle)
        os.replace(partial, options.address_file)
        log(f'listening on {host}:{port} for the notebook, {options.platform_socket} for the platform')

        stopped = asyncio.get_running_loop().create_future()
        for signum in (signal.SIGTERM, signal.SIGINT):
            asyncio.get_running_loop().add_signal_handler(
                signum, lambda: stopped.done() or stopped.set_result(None)
            )
        parent = options.parent
        while not stopped.done():
            if parent is not None and os.getppid() != parent:
                break
            await asyncio.wait([stopped], timeout=1)
        notebook.close()
        platform.close()
        for path in (options.platform_socket, options.address_file):
            try:
                os.unlink(path)
            except OSError:
                pass


def die_with_parent() -> None:
    """Asks the kernel for SIGTERM when the parent dies (Linux); the loop checks getppid too."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('--cert', required=True)
    parser.add_argument('--key', required=True)
    parser.add_argument('--secret-file', required=True)
    parser.add_argument('--address-file', required=True)
    parser.add_argument('--bind', default='0.0.0.0')
    parser.add_argument('--advertise', default='')
    parser.add_argument('--jupyter-socket', required=True)
    parser.add_argument('--platform-socket', required=True)
    parser.add_argument('--platform-url', required=True)
    parser.add_argument(
        '--parent', type=int, default=None, help='exit once this process is no longer the parent'
    )
    options = parser.parse_args()
    die_with_parent()
    if options.parent is not None and os.getppid() != options.parent:
        return
    asyncio.run(Relay(options).serve())


if __name__ == '__main__':
    main()
