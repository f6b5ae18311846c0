"""Start gcp-storage-emulator with one change: honour ``ifGenerationMatch=0`` on uploads.

Cloud Storage refuses an upload carrying the precondition ``ifGenerationMatch=0`` with
``412 Precondition Failed`` when a live object of that name exists; cicl publishes the audit
chain's heads that way so that none is ever replaced. gcp-storage-emulator 2026.7.19 ignores the
parameter and overwrites. Runs inside the emulator's own virtualenv:
``python gcs_launcher.py start ...``.
"""

import sys
from http import HTTPStatus

from gcp_storage_emulator.__main__ import main
from gcp_storage_emulator.exceptions import NotFound
from gcp_storage_emulator.handlers import objects


def _object_name(request):
    if "name" in request.query:
        return request.query["name"][0]
    data = request.data
    return data["meta"].get("name") if isinstance(data, dict) and "meta" in data else None


def _create_only(upload):
    def checked(request, response, storage):
        if request.query.get("ifGenerationMatch") == ["0"]:
            try:
                storage.get_file_obj(request.params["bucket_name"], _object_name(request))
            except NotFound:
                pass
            else:
                response.status = HTTPStatus.PRECONDITION_FAILED
                message = "At least one of the pre-conditions you specified did not hold."
                response.json(
                    {
                        "error": {
                            "code": 412,
                            "message": message,
                            "errors": [
                                {
                                    "domain": "global",
                                    "reason": "conditionNotMet",
                                    "message": message,
                                }
                            ],
                        }
                    }
                )
                return None
        return upload(request, response, storage)

    return checked


objects._media_upload = _create_only(objects._media_upload)
objects._multipart_upload = _create_only(objects._multipart_upload)

if __name__ == "__main__":
    sys.exit(main())
