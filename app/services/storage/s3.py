"""Voice files in an S3-compatible bucket (Ceph RGW, Garage, MinIO, AWS S3), via boto3.

The bucket stays private. Browsers never see the endpoint: in production the app answers
`X-Accel-Redirect: <UPLOADS_ACCEL_PREFIX><host>/<bucket>/chat/<name>?<signature>` with a
URL presigned for S3_PRESIGN_SECONDS, and Nginx's internal location fetches (and caches)
the object (Zulip's uploads-internal.conf). Without Nginx (development) the app fetches
the object into memory and sends it itself, Range included.
"""

import io
import shutil
import tempfile
import urllib.parse
from contextlib import contextmanager
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from app.services.storage import naming
from app.services.storage.base import Delivery, MissingFile, Storage, StorageUnavailable

MISSING_CODES = {"404", "NoSuchKey", "NotFound"}
BLOCK = 1 << 20


def client_for(settings):
    config = Config(
        signature_version="s3v4",
        s3={"addressing_style": settings.s3_addressing_style},
        connect_timeout=settings.s3_timeout_seconds,
        read_timeout=settings.s3_timeout_seconds,
        retries={"max_attempts": 2, "mode": "standard"},
        # Newer boto3 adds CRC checksums to every upload; not every S3 server takes them.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    return boto3.session.Session().client(
        "s3",
        endpoint_url=settings.s3_endpoint_url or None,
        region_name=settings.s3_region,
        aws_access_key_id=settings.s3_access_key_id or None,
        aws_secret_access_key=settings.s3_secret_access_key or None,
        config=config,
        verify=settings.s3_ca_bundle or None,
    )


@contextmanager
def s3_errors(name: str = ""):
    """botocore's errors as the storage interface's: missing, or unavailable (retry)."""
    try:
        yield
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        if code in MISSING_CODES:
            raise MissingFile(f"no voice file {name!r}") from None
        raise StorageUnavailable() from error
    except BotoCoreError as error:
        raise StorageUnavailable() from error


class S3Storage(Storage):
    name = "s3"

    def __init__(self, settings):
        self.client = client_for(settings)
        self.bucket = settings.s3_bucket
        self.presign_seconds = settings.s3_presign_seconds
        self.accel_prefix = settings.uploads_accel_prefix
        self.scratch = Path(settings.upload_dir) / naming.FOLDER

    @property
    def scratch_dir(self) -> Path:
        # Uploads are checked here before they go to the bucket; nothing stays.
        return self.scratch

    def key(self, name: str) -> str:
        if naming.key_of(name) is None:
            raise MissingFile(f"no voice file {name!r}")
        return f"{naming.FOLDER}/{name}"

    def save(self, name: str, source: Path) -> None:
        key = self.key(name)
        try:
            with s3_errors(name), open(source, "rb") as body:
                self.client.put_object(
                    Bucket=self.bucket, Key=key, Body=body, ContentType=naming.media_type(name)
                )
        finally:
            Path(source).unlink(missing_ok=True)

    @contextmanager
    def open_local(self, name: str):
        folder = Path(tempfile.mkdtemp(prefix="natter-s3-"))  # mode 0700: private
        try:
            path = folder / name
            with s3_errors(name):
                answer = self.client.get_object(Bucket=self.bucket, Key=self.key(name))
                with open(path, "wb") as file:
                    shutil.copyfileobj(answer["Body"], file, BLOCK)
            yield path
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def delete(self, name: str) -> None:
        with s3_errors(name):
            self.client.delete_object(Bucket=self.bucket, Key=self.key(name))

    def exists(self, name: str) -> bool:
        try:
            with s3_errors(name):
                self.client.head_object(Bucket=self.bucket, Key=self.key(name))
        except MissingFile:
            return False
        return True

    def presigned_url(self, name: str) -> str:
        params = {"Bucket": self.bucket, "Key": self.key(name)}
        with s3_errors(name):
            return self.client.generate_presigned_url(
                "get_object", Params=params, ExpiresIn=self.presign_seconds
            )

    def serve(self, name: str) -> Delivery:
        if self.accel_prefix:
            # Signing is local (no request to S3): a missing object is Nginx's 404.
            url = urllib.parse.urlsplit(self.presigned_url(name))
            return Delivery(accel_redirect=f"{self.accel_prefix}{url.netloc}{url.path}?{url.query}")
        # Development only (no Nginx): a voice file is at most MAX_CONTENT_LENGTH, and
        # an in-memory copy gives Werkzeug the length it needs to answer Range requests.
        with s3_errors(name):
            answer = self.client.get_object(Bucket=self.bucket, Key=self.key(name))
            body = io.BytesIO(answer["Body"].read())
        return Delivery(
            file=body, etag=answer["ETag"].strip('"'), last_modified=answer["LastModified"]
        )

    def listing(self):
        pages = self.client.get_paginator("list_objects_v2")
        with s3_errors():
            for page in pages.paginate(Bucket=self.bucket, Prefix=f"{naming.FOLDER}/"):
                for item in page.get("Contents", []):
                    name = item["Key"].removeprefix(f"{naming.FOLDER}/")
                    if naming.key_of(name):
                        yield name, item["LastModified"]

    def health(self) -> str:
        try:
            with s3_errors():
                self.client.head_bucket(Bucket=self.bucket)
        except (StorageUnavailable, MissingFile) as error:
            cause = error.__cause__ or error
            return f"error: {cause.__class__.__name__}"
        return "ok"
