"""The platform repository at one commit, as the generators see it."""

from __future__ import annotations

from dataclasses import dataclass, field

from cicl_assets.platform_repo import FileCommit, PlatformRepo


@dataclass
class Snapshot:
    """Files of ``repo`` at ``commit``, read once each."""

    repo: PlatformRepo
    commit: str
    _texts: dict[str, str | None] = field(default_factory=dict)

    def text(self, path: str) -> str | None:
        if path not in self._texts:
            self._texts[path] = self.repo.read(path, self.commit)
        return self._texts[path]

    def text_at(self, path: str, commit: str) -> str | None:
        return self.repo.read(path, commit)

    def blob(self, path: str) -> str | None:
        return self.repo.blob(path, self.commit)

    def paths(self, folder: str) -> list[str]:
        return self.repo.list(folder, self.commit)

    def history(self, path: str) -> list[FileCommit]:
        return self.repo.history(path, self.commit)
