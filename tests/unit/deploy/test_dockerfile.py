"""deploy/Dockerfile passes hadolint and builds only the product, as a non-root user, from a base
pinned by digest. (It is built by the CI workflow; this machine has no Docker daemon.)"""

import re

import pytest

from tests.unit.deploy.tools import DEPLOY, ROOT, run, venv_tool

DOCKERFILE = DEPLOY / "Dockerfile"
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per instruction, continuation lines joined, comments dropped."""
    joined = re.sub(
        r"\\\n",
        " ",
        "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")),
    )
    return [
        (word.upper(), rest.strip())
        for word, _, rest in (line.strip().partition(" ") for line in joined.splitlines())
        if word
    ]


@pytest.fixture(scope="module")
def steps() -> list[tuple[str, str]]:
    return instructions(DOCKERFILE.read_text())


def test_hadolint_passes():
    result = run([venv_tool("hadolint"), str(DOCKERFILE)])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("dockerfile", "rule"),
    [
        ('FROM python:latest\nCMD ["python"]\n', "DL3007"),
        ("FROM python:3.11-slim\nRUN pip install requests\n", "DL3013"),
        ("FROM python:3.11-slim\nRUN cd /app && make\n", "DL3003"),
    ],
)
def test_hadolint_reports_what_it_is_meant_to(tmp_path, dockerfile, rule):
    path = tmp_path / "Dockerfile"
    path.write_text(dockerfile)
    result = run([venv_tool("hadolint"), str(path)])
    assert result.returncode != 0
    assert rule in result.stdout


def test_every_base_is_pinned_by_digest(steps):
    args = dict(a.split("=", 1) for i, a in steps if i == "ARG" and "=" in a)
    bases = [a.split()[0] for i, a in steps if i == "FROM"]
    assert len(bases) == 2
    for base in bases:
        image = args[base[2:-1]] if base.startswith("${") else base
        assert DIGEST.search(image), image


def test_the_image_runs_the_code_server_as_a_non_root_user(steps):
    users = [a for i, a in steps if i == "USER"]
    assert users == ["10001:10001"]
    assert [i for i, _ in steps].index("USER") > max(
        n for n, (i, _) in enumerate(steps) if i in {"RUN", "COPY"}
    )
    (cmd,) = [a for i, a in steps if i == "CMD"]
    assert cmd.startswith('["dagster", "code-server", "start",')
    assert '"-m", "definitions"' in cmd
    (health,) = [a for i, a in steps if i == "HEALTHCHECK"]
    assert '"dagster", "api", "grpc-health-check", "-p", "4000"' in health
    assert not [i for i, _ in steps if i == "ENTRYPOINT"]


def test_only_the_product_is_copied(steps):
    copied = {
        src
        for i, a in steps
        if i == "COPY" and not a.startswith("--from=")
        for src in a.split()[:-1]
    }
    # the compiled decoder's sources and headers, as setup.py lists them
    decoder = set(
        re.findall(r'"(cicl_assets/telemetry/[\w.]+\.[ch])"', (ROOT / "setup.py").read_text())
    )
    assert "cicl_assets/telemetry/_otlp_decode.c" in decoder
    assert copied == {
        "pyproject.toml",
        "requirements.lock",
        "setup.py",
        "cicl_assets",
        "jobs",
        "sensors",
        "config",
        "scripts/cicl.py",
        "scripts/review_commands.py",
        "scripts/release_commands.py",
        "definitions.py",
        "workspace.yaml",
        *decoder,
    }
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    # The decoder's sources are sent as part of cicl_assets/ (built in the first stage).
    assert allowed == copied - decoder
    for path in copied:
        assert (ROOT / path).exists(), path


def test_the_runtime_image_gets_the_compiled_decoder_not_the_compiler(steps):
    build, runtime = (
        steps[: steps.index(("FROM", "${PYTHON_IMAGE}"))],
        steps[steps.index(("FROM", "${PYTHON_IMAGE}")) :],
    )
    assert any(i == "RUN" and "gcc" in a for i, a in build)
    assert any(i == "RUN" and "setup.py build_ext --inplace" in a for i, a in build)
    assert not any("gcc" in a for i, a in runtime if i == "RUN")
    assert (
        "COPY",
        "--from=build /src/cicl_assets/telemetry/_otlp_decode.*.so ./cicl_assets/telemetry/",
    ) in runtime
    # Every module the CLI imports at run time is in the image.
    cli = (ROOT / "scripts" / "cicl.py").read_text()
    for module in re.findall(r"from scripts\.(\w+) import", cli):
        assert f"scripts/{module}.py" in " ".join(a for i, a in runtime if i == "COPY"), module


def test_dependencies_come_from_the_lock_without_dev_tools(steps):
    (install,) = [
        a
        for i, a in steps
        if i == "RUN" and "uv pip install --python /opt/venv/bin/python --only-binary" in a
    ]
    assert "--constraint requirements.lock" in install
    assert "--requirement pyproject.toml" in install
    assert "--extra" not in install and "[dev]" not in install
