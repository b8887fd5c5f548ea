"""Fetch and build the real Kafka broker, FerretDB and Keycloak, caching everything outside
the repo.

Java 17, Maven and Go are installed from Debian when missing. Kafka's jars and Keycloak's server
distribution come from Maven Central and FerretDB is built from the Go module proxy.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import threading
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

KAFKA_VERSION = os.environ.get("HEARTH_KAFKA_VERSION", "4.1.2")
FERRETDB_VERSION = "v1.24.2"
FERRETDB_MODULE = "github.com/FerretDB/FerretDB"
KEYCLOAK_VERSION = "26.4.7"
KEYCLOAK_ARTIFACT = f"org.keycloak:keycloak-quarkus-dist:{KEYCLOAK_VERSION}:tar.gz"
# Keycloak's build-time options. `kc.sh build` bakes them into lib/quarkus once and the server
# then starts with `start --optimized` (devstack/servers.py), which never re-augments, so the
# shared cached copy is read-only at run time. (`kc.sh build` can only make a production build:
# `start-dev` re-augments it on every start, ~25 s, writing into the distribution.)
KEYCLOAK_BUILD_OPTIONS = ("--db=dev-mem",)
RESOURCES = Path(__file__).parent / "resources"


def cache_dir() -> Path:
    root = os.environ.get("HEARTH_CACHE_DIR") or Path.home() / ".cache" / "hearth"
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def say(message: str) -> None:
    print(f"[hearth] {message}", file=sys.stderr, flush=True)


def _run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, check=True, text=True, **kwargs)  # type: ignore[call-overload]


@contextmanager
def progress(what: str, every: float = 15.0) -> Iterator[None]:
    """Say every few seconds that a slow first-run step is still going."""
    done = threading.Event()
    started = time.monotonic()

    def tick() -> None:
        while not done.wait(every):
            say(f"... still {what} ({time.monotonic() - started:.0f}s)")

    thread = threading.Thread(target=tick, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        say(f"{what}: done in {time.monotonic() - started:.0f}s")


def _java_major() -> int:
    if not shutil.which("java"):
        return 0
    out = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr
    match = re.search(r'version "(\d+)', out)
    return int(match.group(1)) if match else 0


_apt_updated = False


def _apt_install(*packages: str) -> None:
    global _apt_updated
    if not shutil.which("apt-get"):
        raise SystemExit(f"[hearth] please install {', '.join(packages)} (no apt-get here)")
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if not _apt_updated:
        say("apt-get update (once)")
        _run([*sudo, "apt-get", "update", "-q"], env=env, stdout=subprocess.DEVNULL)
        _apt_updated = True
    say(f"installing {' '.join(packages)} from Debian")
    _run([*sudo, "apt-get", "install", "-y", "-q", *packages], env=env, stdout=subprocess.DEVNULL)


def ensure_toolchains() -> None:
    """Java 17+, Maven and Go, installed from Debian when missing."""
    if _java_major() < 17:
        _apt_install("openjdk-17-jre-headless")
    if not shutil.which("mvn"):
        _apt_install("maven")
    _go()


GO_TOOLCHAIN = "go1.24.3"  # what FerretDB v1.24.2's go.mod asks for


def _go_version(go: str) -> tuple[int, int]:
    out = subprocess.run([go, "version"], capture_output=True, text=True).stdout
    match = re.search(r"go(\d+)\.(\d+)", out)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def _go() -> str:
    """A Go that can build FerretDB (>= 1.21 switches toolchains by itself)."""
    for candidate in (shutil.which("go"), "/usr/local/go/bin/go"):
        if candidate and Path(candidate).exists() and _go_version(candidate) >= (1, 21):
            return candidate
    # Debian's Go is too old for FerretDB; the Go toolchain itself is a module on the proxy.
    root = cache_dir() / "go-toolchain"
    go = root / "go" / "bin" / "go"
    if not go.exists():
        proxy = os.environ.get("GOPROXY", "https://proxy.golang.org").split(",")[0]
        url = f"{proxy}/golang.org/toolchain/@v/v0.0.1-{GO_TOOLCHAIN}.linux-amd64.zip"
        say(f"fetching the Go toolchain {GO_TOOLCHAIN} from the Go module proxy")
        archive = cache_dir() / "go-toolchain.zip"
        with progress("downloading Go"):
            urllib.request.urlretrieve(url, archive)
        with zipfile.ZipFile(archive) as zipped:
            prefix = f"golang.org/toolchain@v0.0.1-{GO_TOOLCHAIN}.linux-amd64/"
            for member in zipped.infolist():
                if member.filename.startswith(prefix) and not member.is_dir():
                    target = root / "go" / member.filename[len(prefix) :]
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(zipped.read(member))
                    target.chmod(0o755)
        archive.unlink()
    return str(go)


def kafka_libs() -> Path:
    """Directory holding every runtime jar of Apache Kafka, collected once from Maven Central."""
    target = cache_dir() / f"kafka-{KAFKA_VERSION}"
    libs = target / "libs"
    marker = target / ".complete"
    if marker.exists():
        return libs
    ensure_toolchains()
    say(f"collecting Apache Kafka {KAFKA_VERSION} jars from Maven Central (first run only)")
    target.mkdir(parents=True, exist_ok=True)
    pom = (RESOURCES / "kafka-pom.xml").read_text().replace("@KAFKA_VERSION@", KAFKA_VERSION)
    (target / "pom.xml").write_text(pom)
    if libs.exists():
        shutil.rmtree(libs)
    with progress("collecting Kafka jars"):
        _run(
            [
                "mvn",
                "-B",
                "-q",
                "-Dstyle.color=never",
                "-f",
                str(target / "pom.xml"),
                "dependency:copy-dependencies",
                "-DincludeScope=runtime",
                f"-DoutputDirectory={libs}",
            ]
        )
    jars = sorted(p.name for p in libs.glob("*.jar"))
    if not any(j.startswith("kafka-server-") for j in jars):
        raise SystemExit(f"[hearth] Kafka jars incomplete in {libs}: {jars}")
    marker.write_text("\n".join(jars))
    say(f"Kafka ready: {len(jars)} jars in {libs}")
    return libs


# Our patch to FerretDB's update path (see resources/ferretdb-patch/); bump when it changes.
FERRETDB_PATCH = "hearth10"
_PATCHED_FUNCTIONS = {
    "internal/handler/msg_findandmodify.go": "func (h *Handler) findAndModifyDocument(",
    "internal/handler/msg_update.go": "func (h *Handler) updateDocument(",
}


def _patch_ferretdb(source: Path) -> None:
    """Make update and findAndModify atomic per collection, and push `_id` down to SQLite in
    guarded filters; why: resources/ferretdb-patch/README.md."""
    shutil.copy(RESOURCES / "ferretdb-patch" / "hearth_write_lock.go", source / "internal/handler")
    for relative, signature in _PATCHED_FUNCTIONS.items():
        path = source / relative
        text = path.read_text()
        start = text.index(signature)
        body = text.index("{\n", start) + 2
        lock = "\tdefer hearthLockCollection(params.DB, params.Collection)()\n\n"
        path.write_text(text[:body] + lock + text[body:])
    # Close each statement's query when the statement is done, not when the whole command
    # is: stock 1.24 defers every close to the end, so an update of more than 100 statements
    # (bulk_write) holds all 100 pooled SQLite connections and waits for a 101st forever.
    update = source / "internal/handler/msg_update.go"
    text = update.read_text()
    stock_close = "\t\tdefer closer.Close()\n"
    stock_apply = '\t\tresult, err := common.UpdateDocument(ctx, c, "update", iter, &u)\n'
    if text.count(stock_close) != 1 or text.count(stock_apply) != 1:
        raise SystemExit("[hearth] FerretDB source changed: the bulk update patch does not apply")
    text = text.replace(stock_close, "").replace(stock_apply, stock_apply + "\t\tcloser.Close()\n")
    update.write_text(text)
    # Push the filter's top-level equalities down to SQLite (hearth_pushdown.go).
    shutil.copy(
        RESOURCES / "ferretdb-patch" / "hearth_pushdown.go", source / "internal/backends/sqlite"
    )
    query = source / "internal/backends/sqlite/collection.go"
    text = query.read_text()
    stock_where = """	if params.Filter.Len() == 1 {
		v, _ := params.Filter.Get("_id")
		switch v.(type) {
		case string, types.ObjectID:
			whereClause = fmt.Sprintf(` WHERE %s = ?`, metadata.IDColumn)
			args = []any{string(must.NotFail(sjson.MarshalSingleValue(v)))}
		}
	}
"""
    if stock_where not in text:
        raise SystemExit("[hearth] FerretDB source changed: the pushdown patch does not apply")
    # The first one is Query's (Explain has its own copy, left as it is).
    query.write_text(
        text.replace(stock_where, "\twhereClause, args = hearthWhereClause(params.Filter)\n", 1)
    )
    # Look `_id` up with the very expression its unique index is built on, so SQLite uses the
    # index instead of scanning the table on every update.
    metadata = source / "internal/backends/sqlite/metadata/metadata.go"
    text = metadata.read_text()
    stock, ours = """DefaultColumn + "->'$._id'\"""", """DefaultColumn + `->"_id"`"""
    indexed = text.replace(f"IDColumn = {stock}", f"IDColumn = {ours}", 1)
    if indexed == text:
        raise SystemExit("[hearth] FerretDB source changed: the _id index patch does not apply")
    metadata.write_text(indexed)
    # Checkpoint the write-ahead log on a clock, not inside commits (hearth_checkpoint.go).
    pool = source / "internal/backends/sqlite/metadata/pool"
    shutil.copy(RESOURCES / "ferretdb-patch" / "hearth_checkpoint.go", pool)
    opendb = pool / "opendb.go"
    text = opendb.read_text()
    stock_ping = """	if err = db.Ping(); err != nil {
		_ = db.Close()
		return nil, lazyerrors.Error(err)
	}
"""
    if text.count(stock_ping) != 1:
        raise SystemExit("[hearth] FerretDB source changed: the checkpoint patch does not apply")
    opendb.write_text(
        text.replace(
            stock_ping, stock_ping + "\n\tif !memory {\n\t\tgo hearthCheckpoint(db, l)\n\t}\n"
        )
    )
    # Track iterators' lifetimes only in debug builds (resources/ferretdb-patch/README.md, 6):
    # a release build recorded a stack trace for every document and array iterator.
    resource = source / "internal/util/resource/resource.go"
    text = resource.read_text()
    tracked = text
    for signature in (
        "func Track(obj any, token *Token) {\n",
        "func Untrack(obj any, token *Token) {\n",
    ):
        if text.count(signature) != 1:
            raise SystemExit("[hearth] FerretDB source changed: the resource patch does not apply")
        tracked = tracked.replace(
            signature, signature + "\tif !debugbuild.Enabled {\n\t\treturn\n\t}\n\n"
        )
    resource.write_text(tracked)
    _speed_up_sjson(source)


# One json.Decoder per stored value, its leftovers checked (stock sjson), and what replaces it.
_SJSON_DECODER = re.compile(
    r"\tr := bytes\.NewReader\(data\)\n\tdec := json\.NewDecoder\(r\)\n"
    r"(?:\tdec\.DisallowUnknownFields\(\)\n)?\n"
    r"\tvar (\w+) ([\w.\[\]]+)\n\tif err := dec\.Decode\(&\1\); err != nil \{\n"
    r"\t\treturn lazyerrors\.Error\(err\)\n\t\}\n\n"
    r"\tif err := checkConsumed\(dec, r\); err != nil \{\n"
    r"\t\treturn lazyerrors\.Error\(err\)\n\t\}\n"
)
_SJSON_VALUES = ("string", "double", "int32", "int64", "bool", "datetime", "document", "array")


def _speed_up_sjson(source: Path) -> None:
    """Decode stored documents without a json.Decoder per value (resources/ferretdb-patch/
    hearth_sjson.go says why): the same values, decoded by json.Unmarshal."""
    sjson = source / "internal/handler/sjson"
    shutil.copy(RESOURCES / "ferretdb-patch" / "hearth_sjson.go", sjson)
    for name in _SJSON_VALUES:
        path = sjson / f"{name}.go"
        text, replaced = _SJSON_DECODER.subn(
            "\tvar \\1 \\2\n\tif err := json.Unmarshal(data, &\\1); err != nil {\n"
            "\t\treturn lazyerrors.Error(err)\n\t}\n",
            path.read_text(),
        )
        if replaced != 1:
            raise SystemExit(f"[hearth] FerretDB source changed: the sjson patch misses {name}")
        path.write_text(text)
    string = sjson / "string.go"
    text = string.read_text()
    decode = "\tvar o string\n\tif err := json.Unmarshal(data, &o); err != nil {\n"
    plain = (
        "\tif s, ok := hearthPlainString(data); ok {\n"
        "\t\t*str = stringType(s)\n\n\t\treturn nil\n\t}\n\n"
    )
    string.write_text(text.replace(decode, plain + decode, 1))
    top = sjson / "sjson.go"
    text = top.read_text()
    stock = """	var v map[string]json.RawMessage
	r := bytes.NewReader(data)
	dec := json.NewDecoder(r)

	err := dec.Decode(&v)
	if err != nil {
		return nil, lazyerrors.Error(err)
	}

	if err = checkConsumed(dec, r); err != nil {
		return nil, lazyerrors.Error(err)
	}
"""
    ours = """	var v map[string]json.RawMessage
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, lazyerrors.Error(err)
	}
"""
    schema = "\tr = bytes.NewReader(jsch)\n\tdec = json.NewDecoder(r)\n"
    if stock not in text or schema not in text:
        raise SystemExit("[hearth] FerretDB source changed: the sjson patch misses Unmarshal")
    text = text.replace(stock, ours, 1).replace(schema, schema.replace(" = ", " := "), 1)
    top.write_text(text)


def ferretdb_binary() -> Path:
    """FerretDB built from the Go module proxy source, once, with our update-atomicity patch."""
    binary = cache_dir() / "bin" / f"ferretdb-{FERRETDB_VERSION}-{FERRETDB_PATCH}"
    if binary.exists():
        return binary
    ensure_toolchains()
    say(f"building FerretDB {FERRETDB_VERSION} from the Go module proxy (first run only, ~1-3 min)")
    env = {**os.environ, "CGO_ENABLED": "0", "GOTOOLCHAIN": "auto", "GOFLAGS": "-mod=mod"}
    info = json.loads(
        _run(
            [_go(), "mod", "download", "-json", f"{FERRETDB_MODULE}@{FERRETDB_VERSION}"],
            capture_output=True,
            env=env,
            cwd=cache_dir(),
        ).stdout
    )
    source = cache_dir() / "build" / f"ferretdb-{FERRETDB_VERSION}"
    if source.exists():
        shutil.rmtree(source)
    shutil.copytree(info["Dir"], source)
    for path in source.rglob("*"):
        path.chmod(path.stat().st_mode | 0o200)
    # version.txt is git-ignored upstream, so the module zip lacks it and the binary panics.
    (source / "build" / "version" / "version.txt").write_text(FERRETDB_VERSION + "\n")
    _patch_ferretdb(source)
    binary.parent.mkdir(parents=True, exist_ok=True)
    partial = binary.with_suffix(".partial")
    with progress("building FerretDB"):
        _run([_go(), "build", "-o", str(partial), "./cmd/ferretdb"], cwd=source, env=env)
    partial.rename(binary)
    shutil.rmtree(source, ignore_errors=True)
    say(f"FerretDB ready: {binary}")
    return binary


# Inherited settings that would change how Keycloak builds or starts (its own KC_* options,
# the JVM's): neither the build nor the server sees them.
_KEYCLOAK_ENV_DROPPED = ("KC_", "KEYCLOAK_", "QUARKUS_", "JAVA_OPTS", "JAVA_ADD_OPENS")


def keycloak_env(**settings: str) -> dict[str, str]:
    """The environment for `kc.sh`: ours without inherited Keycloak or JVM settings, plus
    these."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith(_KEYCLOAK_ENV_DROPPED)}
    return {**kept, **settings}


def _ensure_java_and_maven() -> None:
    if _java_major() < 17:
        _apt_install("openjdk-17-jre-headless")
    if not shutil.which("mvn"):
        _apt_install("maven")


def _sha1(path: Path) -> str:
    digest = hashlib.sha1()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _keycloak_tarball() -> Path:
    """The server distribution in the local Maven repository, fetched once from Maven Central
    (`mvn dependency:get`), its SHA-1 checked against the one Maven fetched beside it."""
    group, artifact, version, ext = KEYCLOAK_ARTIFACT.split(":")
    repository = Path(os.environ.get("HEARTH_MAVEN_REPO") or Path.home() / ".m2" / "repository")
    tarball = repository.joinpath(
        *group.split("."), artifact, version, f"{artifact}-{version}.{ext}"
    )
    for attempt in (1, 2):
        if tarball.exists():
            checksum = tarball.with_name(tarball.name + ".sha1")
            expected = checksum.read_text().split()[0] if checksum.exists() else ""
            if not expected or _sha1(tarball) == expected:
                return tarball
            say(f"{tarball.name}: SHA-1 mismatch, fetching it again")
            tarball.unlink()
        if attempt == 2:
            break
        say(f"fetching Keycloak {KEYCLOAK_VERSION} (~160 MB) from Maven Central (first run only)")
        with progress("downloading Keycloak"):
            _run(
                [
                    "mvn",
                    "-B",
                    "-q",
                    "-Dstyle.color=never",
                    f"-Dmaven.repo.local={repository}",
                    "dependency:get",
                    f"-Dartifact={KEYCLOAK_ARTIFACT}",
                    "-Dtransitive=false",
                ]
            )
    raise SystemExit(f"[hearth] Keycloak's distribution is missing or damaged: {tarball}")


def keycloak_home() -> Path:
    """Keycloak's server distribution, unpacked once into the cache and built once (Quarkus
    augmentation with KEYCLOAK_BUILD_OPTIONS), so every start is `kc.sh start --optimized`."""
    home = cache_dir() / f"keycloak-{KEYCLOAK_VERSION}"
    marker_name = ".hearth-build"
    wanted = " ".join(KEYCLOAK_BUILD_OPTIONS)
    marker = home / marker_name
    if marker.exists() and marker.read_text().strip() == wanted:
        return home
    _ensure_java_and_maven()
    tarball = _keycloak_tarball()
    # Unpack and build in a folder of our own, then rename it into place: a run that dies
    # half-way leaves no half-built Keycloak, and two first runs at once never share a folder.
    partial = cache_dir() / f".keycloak-{KEYCLOAK_VERSION}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    try:
        say(f"unpacking Keycloak {KEYCLOAK_VERSION} into the cache (first run only)")
        with tarfile.open(tarball) as archive:
            archive.extractall(partial, filter="data")
        unpacked = partial / f"keycloak-{KEYCLOAK_VERSION}"
        say(f"building Keycloak once ({wanted}; first run only, ~30 s)")
        log = partial / "build.log"
        env = keycloak_env(JAVA_OPTS_KC_HEAP="-Xms64m -Xmx512m")
        with progress("building Keycloak"), log.open("w") as out:
            built = subprocess.run(
                [str(unpacked / "bin" / "kc.sh"), "build", *KEYCLOAK_BUILD_OPTIONS],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
            )
        if built.returncode != 0:
            raise SystemExit(f"[hearth] Keycloak build failed:\n{log.read_text()[-3000:]}")
        (unpacked / marker_name).write_text(wanted + "\n")
        if home.exists():  # built with other options: set it aside, then drop it
            stale = partial / "stale"
            home.rename(stale)
        try:
            unpacked.rename(home)
        except OSError:
            if not (marker.exists() and marker.read_text().strip() == wanted):
                raise  # not another first run that got there first
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    say(f"Keycloak ready: {home}")
    return home


WEB_ASSETS_SOURCE = Path(__file__).resolve().parent.parent / "services" / "web" / "assets"


def web_assets() -> Path:
    """GOV.UK Frontend, the MOJ frontend and htmx from npm (`services/web/assets/package-lock.json`,
    `npm ci`), laid out as the web app serves them under `/assets`: the precompiled CSS asks for
    `/assets/fonts/...` and `/assets/images/...`. Cached per lock file."""
    lock = WEB_ASSETS_SOURCE / "package-lock.json"
    home = cache_dir() / "web-assets" / _sha1(lock)[:12]
    public = home / "public"
    if (home / ".complete").exists():
        return public
    if not shutil.which("npm"):
        _apt_install("nodejs", "npm")
    partial = home.with_name(home.name + f".partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy(WEB_ASSETS_SOURCE / name, partial / name)
    with progress("installing the web app's front-end packages from npm"):
        _run(
            ["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
            cwd=partial,
            stdout=subprocess.DEVNULL,
        )
    modules = partial / "node_modules"
    lay_out_web_assets(modules, partial / "public")
    shutil.rmtree(modules)
    (partial / ".complete").write_text("ok")
    try:
        partial.rename(home)
    except OSError:
        if not (home / ".complete").exists():
            raise  # not another first run that got there first
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    say(f"web assets ready: {public}")
    return public


def lay_out_web_assets(modules: Path, out: Path) -> None:
    """From `node_modules` to what the app serves under `/assets` (also the Dockerfile's step)."""
    govuk = modules / "govuk-frontend" / "dist" / "govuk"
    moj = modules / "@ministryofjustice" / "frontend" / "moj"
    shutil.copytree(govuk / "assets" / "fonts", out / "fonts")
    shutil.copytree(govuk / "assets" / "images", out / "images")
    shutil.copytree(moj / "assets" / "images", out / "images", dirs_exist_ok=True)
    (out / "govuk").mkdir()
    for name in ("govuk-frontend.min.css", "govuk-frontend.min.js"):
        shutil.copy(govuk / name, out / "govuk" / name)
    (out / "moj").mkdir()
    for name in ("moj-frontend.min.css", "moj-frontend.min.js"):
        shutil.copy(moj / name, out / "moj" / name)
    (out / "htmx").mkdir()
    shutil.copy(modules / "htmx.org" / "dist" / "htmx.min.js", out / "htmx" / "htmx.min.js")


def chromium() -> Path:
    """Debian's Chromium, for the browser tests (Playwright cannot download its own here)."""
    for name in ("chromium", "chromium-browser"):
        if found := shutil.which(name):
            return Path(found)
    _apt_install("chromium")
    return Path(shutil.which("chromium") or "/usr/bin/chromium")


def prepare_all(browser: bool = False) -> None:
    kafka_libs()
    ferretdb_binary()
    keycloak_home()
    web_assets()
    if browser:
        chromium()


if __name__ == "__main__":
    prepare_all()
