# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where an import comes from: the mirror map, then the on-disk cache, then the network.

Local files are read only inside trusted roots (the directory of a template given as a path,
the mirror map's directory and the directories its entries point to), so a template cannot make
the controller read ``/etc/shadow`` through ``file://`` or ``../..``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from urllib.parse import urljoin, urlsplit, unquote

from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.errors import ToscaError
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.yamlsafe import (
    MAX_TYPES_BYTES,
    load_yaml,
)

MIRROR_ENV = "PAAS_ORCHESTRATOR_TOSCA_MIRROR"
CACHE_ENV = "PAAS_ORCHESTRATOR_CACHE_DIR"
DEFAULT_TIMEOUT = 10
_REMOTE_SCHEMES = ("http", "https")


def default_cache_dir():
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return explicit
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "paas-orchestrator")


def _is_url(ref):
    return "://" in ref


def _inside(path, roots):
    real = os.path.realpath(path)
    return any(real == root or real.startswith(root + os.sep) for root in roots)


def _write_atomic(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except OSError:
        # A cache that cannot be written only costs speed.
        if os.path.exists(tmp):
            os.unlink(tmp)


class Mirror:
    """An offline mirror map: import URL (or URL prefix ending in '/') -> local path."""

    def __init__(self, map_path=None):
        self.source = map_path
        self.entries = {}
        self.prefixes = []
        self.roots = []
        if not map_path:
            return
        try:
            with open(map_path, "rb") as handle:
                raw = handle.read()
        except OSError as exc:
            raise ToscaError("Cannot read the import mirror map: %s" % exc.strerror, source=map_path)
        data = load_yaml(raw, map_path, MAX_TYPES_BYTES)  # JSON is YAML
        if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in data.items()
        ):
            raise ToscaError(
                "The import mirror map must be a mapping of URL to local path", source=map_path
            )
        base = os.path.dirname(os.path.abspath(map_path))
        roots = {os.path.realpath(base)}
        for url, target in data.items():
            local = os.path.normpath(os.path.join(base, target))
            if url.endswith("/"):
                self.prefixes.append((url, local))
                roots.add(os.path.realpath(local))
            else:
                self.entries[url] = local
                roots.add(os.path.realpath(os.path.dirname(local)))
        self.prefixes.sort(key=lambda item: len(item[0]), reverse=True)
        self.roots = sorted(roots)

    def lookup(self, url):
        if url in self.entries:
            return self.entries[url]
        for prefix, local in self.prefixes:
            if url.startswith(prefix):
                return os.path.join(local, url[len(prefix):])
        return None


class Resolved:
    """One import, read: ``location`` is its URL or absolute path, ``text`` its content."""

    __slots__ = ("location", "text", "origin")

    def __init__(self, location, text, origin):
        self.location = location
        self.text = text
        self.origin = origin  # mirror | cache | network | file

    @property
    def digest(self):
        return hashlib.sha256(self.text).hexdigest()


class ImportResolver:
    """Reads imports; knows nothing of TOSCA beyond where a file comes from."""

    def __init__(self, mirror=None, cache_dir=None, timeout=DEFAULT_TIMEOUT, local_roots=()):
        self.mirror = Mirror(mirror if mirror is not None else os.environ.get(MIRROR_ENV))
        self.cache_dir = default_cache_dir() if cache_dir is None else cache_dir
        self.timeout = timeout
        self.roots = [os.path.realpath(root) for root in local_roots] + self.mirror.roots

    def absolute(self, ref, base):
        """The URL or absolute path that ``ref`` names when read from ``base``."""
        if not isinstance(ref, str) or not ref.strip():
            raise ToscaError("An import must name a file or URL, not %r" % (ref,), source=base)
        ref = ref.strip()
        if _is_url(ref):
            return ref
        if os.path.isabs(ref):
            return os.path.normpath(ref)
        if base and _is_url(base):
            return urljoin(base, ref)
        if base:
            return os.path.normpath(os.path.join(os.path.dirname(base), ref))
        raise ToscaError(
            "Relative import '%s' cannot be resolved: the template was given as text, not as a "
            "file; give an absolute URL or an entry in the import mirror map" % ref
        )

    def read(self, location, importer=None):
        if _is_url(location):
            return self._read_url(location, importer)
        return self._read_file(location, location, importer, "file")

    def _read_file(self, path, location, importer, origin):
        if not _inside(path, self.roots):
            raise ToscaError(
                "Import '%s' is a local file outside the template's directory and the import "
                "mirror: refused" % location,
                source=importer,
            )
        try:
            with open(path, "rb") as handle:
                data = handle.read(MAX_TYPES_BYTES + 1)
        except OSError as exc:
            raise ToscaError(
                "Import '%s' cannot be read: %s" % (location, exc.strerror), source=importer
            )
        return Resolved(location, data, origin)

    def _cache_path(self, url):
        return os.path.join(
            self.cache_dir, "imports", hashlib.sha256(url.encode("utf-8")).hexdigest()
        )

    def _read_url(self, url, importer):
        mirrored = self.mirror.lookup(url)
        if mirrored:
            return self._read_file(mirrored, url, importer, "mirror")
        parts = urlsplit(url)
        if parts.scheme == "file":
            return self._read_file(unquote(parts.path), url, importer, "file")
        if parts.scheme not in _REMOTE_SCHEMES:
            raise ToscaError(
                "Import '%s' uses the unsupported scheme '%s'" % (url, parts.scheme),
                source=importer,
            )
        if self.cache_dir:
            try:
                with open(self._cache_path(url), "rb") as handle:
                    return Resolved(url, handle.read(), "cache")
            except OSError:
                pass
        data = self._fetch(url, importer)
        if self.cache_dir:
            _write_atomic(self._cache_path(url), data)
        return Resolved(url, data, "network")

    def _fetch(self, url, importer):
        import requests  # only the network path needs it

        try:
            with requests.get(url, timeout=self.timeout, stream=True) as response:
                if response.status_code != 200:
                    raise ToscaError(
                        "Import '%s' is unreachable: HTTP %d" % (url, response.status_code),
                        source=importer,
                    )
                data = b""
                for chunk in response.iter_content(65536):
                    data += chunk
                    if len(data) > MAX_TYPES_BYTES:
                        raise ToscaError(
                            "Import '%s' is over %d bytes" % (url, MAX_TYPES_BYTES),
                            source=importer,
                        )
                return data
        except requests.RequestException as exc:
            raise ToscaError(
                "Import '%s' is unreachable (%s); give an import mirror map (option 'mirror' or "
                "%s) to work offline" % (url, type(exc).__name__, MIRROR_ENV),
                source=importer,
            )


# Parsed type files, by content digest: parse a 100 KB type file once per process, and keep
# the result on disk as JSON (reading that is ten times faster than parsing the YAML).
_PARSED = {}


def parse_definitions(resolved, cache_dir):
    """The YAML of an imported file as a dict, from memory, the disk cache or the parser."""
    digest = resolved.digest
    hit = _PARSED.get(digest)
    if hit is not None:
        return hit
    disk = os.path.join(cache_dir, "types", digest + ".json") if cache_dir else None
    data = None
    if disk:
        try:
            with open(disk, "rb") as handle:
                data = json.loads(handle.read())
        except (OSError, ValueError):
            data = None
    if data is None:
        data = load_yaml(resolved.text, resolved.location, MAX_TYPES_BYTES)
        if not isinstance(data, dict):
            raise ToscaError("Import is not a TOSCA definitions file", source=resolved.location)
        if disk:
            try:
                encoded = json.dumps(data, separators=(",", ":")).encode("utf-8")
            except (TypeError, ValueError):
                encoded = None  # e.g. YAML timestamps: keep it in memory only
            if encoded:
                _write_atomic(disk, encoded)
    _PARSED[digest] = data
    return data
