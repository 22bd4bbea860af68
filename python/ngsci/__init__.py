"""ngsci: the platform, from inside a Lantern notebook instance.

The same calls as Nightingale Open Science's module, so code written for it runs unchanged:

    import ngsci
    ngsci.instance_id()            # this instance's id (NG_INSTANCE_ID)
    ngsci.datasets()               # the dataset versions mounted under /home/ngsci/datasets
    ngsci.submit_contest_entry('/home/ngsci/project/predictions.csv', description='baseline')
                                   # -> (Result.SUCCESS, 'Success') or (Result.FAILURE, why)
    ngsci.stop_instance()          # asks the platform to stop this instance
    ngsci.request_release(['/home/ngsci/project/summary.csv', '/home/ngsci/project/plot.png'],
                          purpose='aggregate results for the paper')
                                   # -> (Result.SUCCESS, 'release request <id> is waiting for review')
                                   #    or (Result.FAILURE, why)

Nothing leaves an instance but through the airlock: request_release asks for files to be released;
a reviewer reads them (with automated disclosure checks) and approves or rejects with a reason;
only approved files can then be downloaded, by the project's members, from Lantern.

The instance has no network. The platform answers on a UNIX socket bound into the sandbox
(LANTERN_PLATFORM_SOCKET), or, where no socket can be shared (a Kubernetes Pod, whose only way out
is to the Lantern server), over HTTP at LANTERN_PLATFORM_URL + '/platform'. A Slurm job on another
node than the server's has a relay at the end of its socket that carries the calls to the server's
HTTP: there the paths go under LANTERN_PLATFORM_PATH ('/platform'). Each call carries the
instance's own token (LANTERN_PLATFORM_TOKEN, or the file LANTERN_PLATFORM_TOKEN_FILE names) as a
bearer token. Standard library only.

The platform's side (HTTP/1.1, JSON unless said):
    GET  /v1/instance                      -> {"id": ...}
    GET  /v1/datasets                      -> {"datasets": [{"slug", "version", "path"}, ...]}
    POST /v1/instance/stop                 -> 202 {"state": "stopping"}
    POST /v1/contest-entries?filename=F&description=D   body: the file's bytes
                                           -> {"result": "SUCCESS" | "FAILURE", "message": ...}
    GET  /v1/releases/limits               -> {"maxFiles", "maxFileBytes", "maxBytes"}
    POST /v1/releases?purpose=P            body: a ZIP archive of the files (stored; member
                                           names are the file names, without folders)
                                           -> 201 {"id": ..., "state": "pending", "files": n}
                                              or 4xx {"detail": why}
"""

import enum
import http.client
import io
import json
import os
import socket
import urllib.parse
import zipfile
from typing import List, NamedTuple, Sequence, Tuple, Union

__all__ = [
    'Dataset',
    'PlatformError',
    'Result',
    'datasets',
    'instance_id',
    'request_release',
    'stop_instance',
    'submit_contest_entry',
]

DEFAULT_SOCKET = '/run/lantern/platform.sock'
# A contest entry is a file of predictions; anything larger is refused before it is sent.
MAX_ENTRY_BYTES = 256 * 1024 * 1024
# The platform's default limits on a release request: files, bytes a file, bytes in all. A
# platform configured otherwise says its own (GET /v1/releases/limits), asked before sending.
MAX_RELEASE_FILES = 20
MAX_RELEASE_FILE_BYTES = 32 * 1024 * 1024
MAX_RELEASE_BYTES = 64 * 1024 * 1024
TIMEOUT_SECONDS = 60


class Result(enum.Enum):
    SUCCESS = 'SUCCESS'
    FAILURE = 'FAILURE'


class Dataset(NamedTuple):
    slug: str
    version: str
    path: str


class PlatformError(RuntimeError):
    """The platform could not be reached, or refused the call; the message says which and why."""


class _UnixConnection(http.client.HTTPConnection):
    """HTTP over the platform's UNIX socket (there is no network inside an instance)."""

    def __init__(self, path: str, timeout: float) -> None:
        super().__init__('localhost', timeout=timeout)
        self._socket_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._socket_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def _environment(name: str) -> str:
    value = os.environ.get(name, '')
    if value == '':
        raise PlatformError(f'{name} is not set: ngsci works inside a Lantern instance')
    return value


def _token() -> str:
    token = os.environ.get('LANTERN_PLATFORM_TOKEN', '')
    token_file = os.environ.get('LANTERN_PLATFORM_TOKEN_FILE', '')
    if token == '' and token_file != '':
        try:
            with open(token_file, encoding='utf-8') as handle:
                token = handle.read().strip()
        except OSError as error:
            raise PlatformError(f'the platform token cannot be read from {token_file}: {error}') from error
    if token == '':
        raise PlatformError('LANTERN_PLATFORM_TOKEN is not set: ngsci works inside a Lantern instance')
    return token


def _connection():
    """The connection to the platform, where it answers, and the prefix of its paths."""
    url = os.environ.get('LANTERN_PLATFORM_URL', '')
    if url == '':
        socket_path = os.environ.get('LANTERN_PLATFORM_SOCKET', DEFAULT_SOCKET)
        prefix = os.environ.get('LANTERN_PLATFORM_PATH', '').rstrip('/')
        if prefix != '' and not prefix.startswith('/'):
            raise PlatformError(f'LANTERN_PLATFORM_PATH is not a path: {prefix}')
        return _UnixConnection(socket_path, TIMEOUT_SECONDS), socket_path, prefix
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ('http', 'https') or parts.hostname is None:
        raise PlatformError(f'LANTERN_PLATFORM_URL is not an http(s) URL: {url}')
    kind = http.client.HTTPSConnection if parts.scheme == 'https' else http.client.HTTPConnection
    connection = kind(parts.hostname, parts.port, timeout=TIMEOUT_SECONDS)
    return connection, url, parts.path.rstrip('/') + '/platform'


def _call(method: str, path: str, body: bytes = b'', content_type: str = 'application/json'):
    """One request to the platform; returns (status, decoded JSON body or None)."""
    token = _token()
    connection, where, prefix = _connection()
    path = prefix + path
    headers = {
        'Authorization': f'Bearer {token}',
        'Accept': 'application/json',
        'X-NG-Instance-Id': os.environ.get('NG_INSTANCE_ID', ''),
        # The server asks every write over HTTP for this header (its cross-site request check).
        'X-Lantern-CSRF': '1',
    }
    if method == 'POST':
        headers['Content-Type'] = content_type
        headers['Content-Length'] = str(len(body))
    try:
        connection.request(method, path, body=body if method == 'POST' else None, headers=headers)
        response = connection.getresponse()
        raw = response.read()
    except OSError as error:
        raise PlatformError(f'the platform did not answer on {where}: {error}') from error
    finally:
        connection.close()
    try:
        payload = json.loads(raw) if raw else None
    except ValueError as error:
        raise PlatformError(f'the platform answered {response.status} with no JSON') from error
    return response.status, payload


def _detail(status: int, payload) -> str:
    if isinstance(payload, dict):
        for key in ('detail', 'message', 'title'):
            if isinstance(payload.get(key), str):
                return f'{status}: {payload[key]}'
    return str(status)


def instance_id() -> str:
    """This instance's id, as the platform names it (NG_INSTANCE_ID)."""
    return _environment('NG_INSTANCE_ID')


def datasets() -> List[Dataset]:
    """The dataset versions mounted in this instance, with where each is (read-only)."""
    status, payload = _call('GET', '/v1/datasets')
    if status != 200 or not isinstance(payload, dict) or not isinstance(payload.get('datasets'), list):
        raise PlatformError(f'the platform refused to list datasets ({_detail(status, payload)})')
    found = []
    for entry in payload['datasets']:
        if not isinstance(entry, dict) or not all(
            isinstance(entry.get(key), str) for key in ('slug', 'version', 'path')
        ):
            raise PlatformError(f'the platform listed a dataset it did not describe: {entry!r}')
        found.append(Dataset(entry['slug'], entry['version'], entry['path']))
    return found


def stop_instance() -> None:
    """Asks the platform to stop this instance (this kernel with it): save your work first."""
    status, payload = _call('POST', '/v1/instance/stop', b'{}')
    if status not in (200, 202):
        raise PlatformError(f'the platform refused to stop the instance ({_detail(status, payload)})')


def submit_contest_entry(path: str, description: str = '') -> Tuple[Result, str]:
    """Submits the file at `path` to the open contest; (Result.SUCCESS, 'Success') or a failure and why."""
    try:
        size = os.path.getsize(path)
        if size > MAX_ENTRY_BYTES:
            return Result.FAILURE, f'{path} is {size} bytes; an entry is at most {MAX_ENTRY_BYTES}'
        with open(path, 'rb') as entry:
            body = entry.read()
    except OSError as error:
        return Result.FAILURE, f'cannot read {path}: {error.strerror}'
    query = urllib.parse.urlencode(
        {'filename': os.path.basename(path), 'description': str(description)}
    )
    try:
        status, payload = _call(
            'POST', f'/v1/contest-entries?{query}', body, 'application/octet-stream'
        )
    except PlatformError as error:
        return Result.FAILURE, str(error)
    if isinstance(payload, dict) and payload.get('result') in ('SUCCESS', 'FAILURE'):
        message = payload.get('message')
        return Result(payload['result']), message if isinstance(message, str) else ''
    return Result.FAILURE, f'the platform did not take the entry ({_detail(status, payload)})'


def request_release(paths: Union[str, Sequence[str]], purpose: str) -> Tuple[Result, str]:
    """Asks for the files at `paths` (one path or a list) to be released, saying why (`purpose`).

    (Result.SUCCESS, 'release request <id> is waiting for review'), or (Result.FAILURE, why). The
    files go to the platform in one ZIP archive (stored, each under its own name: two files of the
    same name are refused, as folders are); a reviewer decides, and the project's members download
    what is approved.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = [os.fspath(path) for path in paths]
    if len(paths) == 0:
        return Result.FAILURE, 'name at least one file to release'
    if not isinstance(purpose, str) or purpose.strip() == '':
        return Result.FAILURE, 'say why these files should leave (purpose)'
    names = set()
    for path in paths:
        name = os.path.basename(path)
        if os.path.isdir(path):
            return Result.FAILURE, f'{path} is a folder; name the files in it to release'
        if not os.path.isfile(path):
            return Result.FAILURE, f'{path} is not a file'
        if name in names:
            return Result.FAILURE, f'two files are named {name}; a request holds each name once'
        names.add(name)
    max_files, max_file_bytes, max_bytes = _release_limits()
    if len(paths) > max_files:
        return Result.FAILURE, f'{len(paths)} files; a request holds at most {max_files}'
    total = 0
    for path in paths:
        size = os.path.getsize(path)
        if size > max_file_bytes:
            return Result.FAILURE, f'{path} is {size} bytes; a file is at most {max_file_bytes}'
        total += size
    if total > max_bytes:
        return Result.FAILURE, f'the files are {total} bytes together; a request is at most {max_bytes}'
    archive = io.BytesIO()
    try:
        with zipfile.ZipFile(archive, 'w', compression=zipfile.ZIP_STORED) as bundle:
            for path in paths:
                bundle.write(path, arcname=os.path.basename(path))
    except OSError as error:
        return Result.FAILURE, f'cannot read {error.filename}: {error.strerror}'
    query = urllib.parse.urlencode({'purpose': purpose})
    try:
        status, payload = _call('POST', f'/v1/releases?{query}', archive.getvalue(), 'application/zip')
    except PlatformError as error:
        return Result.FAILURE, str(error)
    if status == 201 and isinstance(payload, dict) and isinstance(payload.get('id'), str):
        return Result.SUCCESS, f"release request {payload['id']} is waiting for review"
    return Result.FAILURE, f'the platform refused the request ({_detail(status, payload)})'


def _release_limits() -> Tuple[int, int, int]:
    """The platform's limits on a request (files, bytes a file, bytes in all); the defaults when it
    does not say (a platform older than the call): it refuses what passes them anyway."""
    try:
        status, payload = _call('GET', '/v1/releases/limits')
    except PlatformError:
        status, payload = 0, None
    defaults = (MAX_RELEASE_FILES, MAX_RELEASE_FILE_BYTES, MAX_RELEASE_BYTES)
    if status != 200 or not isinstance(payload, dict):
        return defaults
    said = tuple(payload.get(key) for key in ('maxFiles', 'maxFileBytes', 'maxBytes'))
    if not all(type(value) is int and value > 0 for value in said):
        return defaults
    return said  # type: ignore[return-value]
