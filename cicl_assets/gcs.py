"""The one Cloud Storage client factory, shared by the landing zone and the outbox."""

from __future__ import annotations

from typing import Any

from cicl_assets.settings import CloudClients, cloud_clients

_CLIENTS: dict[tuple[str | None, str | None], Any] = {}
_GIVEN: list[CloudClients] = []


def use_cloud_clients(cloud: CloudClients) -> None:
    """Build this process's clients with ``cloud``, not with the process's environment: an
    ingest worker forked from a long-lived fork server would otherwise see the environment of
    the moment the server started."""
    _GIVEN[:] = [cloud]


def storage_client() -> Any:
    """One client per process and target: the runner opens a LandingZone per file."""
    from google.cloud import storage  # only needed where a gs:// URI is used

    cloud = _GIVEN[0] if _GIVEN else cloud_clients()
    emulator, project = cloud.storage_emulator_host, cloud.gcs_project
    key = (emulator, project)
    if key not in _CLIENTS:
        if emulator:
            # The real client talks to the emulator when STORAGE_EMULATOR_HOST is set; it
            # takes no credentials.
            from google.auth.credentials import AnonymousCredentials

            _CLIENTS[key] = storage.Client(
                project=project or "cicl-local",
                credentials=AnonymousCredentials(),
                client_options={"api_endpoint": emulator},
            )
        else:
            _CLIENTS[key] = storage.Client(project=project)
    return _CLIENTS[key]
