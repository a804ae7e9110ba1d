"""The ``[media]`` settings: defaults, TOML and environment, clear errors, round trip."""

from __future__ import annotations

from pathlib import Path

import pytest

from cityfed.config import ConfigError, load_settings, write_settings
from cityfed.media.processing import ImageLimits, OutputFormat


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cityfed.toml"
    path.write_text('[node]\ndomain = "berlin.example"\n' + text)
    return path


def test_defaults_are_safe(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, ""), env={})
    assert settings.media_storage == "files"
    assert settings.media_image_sizes == (1920, 800, 400)
    assert settings.media_image_formats == ("webp", "jpeg")
    assert settings.media_keep_original is False
    assert settings.media_max_image_pixels == 7680 * 4320
    assert settings.media_quota_bytes == 1024**3
    limits = ImageLimits.from_settings(settings)
    assert limits.formats == (OutputFormat.WEBP, OutputFormat.JPEG)


def test_file_and_environment(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[media]\nimage_sizes = [400, 1280]\nimage_formats = ["avif", "jpeg"]\n'
        'storage = "s3"\ns3_bucket = "berlin-media"\ns3_endpoint = "http://127.0.0.1:9000"\n'
        "quota_bytes = 0\n",
    )
    settings = load_settings(path, env={"CITYFED_MEDIA_S3_SECRET_KEY": "s3cr3t"})
    assert settings.media_image_sizes == (400, 1280)
    assert settings.media_image_formats == ("avif", "jpeg")
    assert (settings.media_storage, settings.media_s3_bucket) == ("s3", "berlin-media")
    assert settings.media_s3_secret_key == "s3cr3t"
    assert settings.media_quota_bytes == 0
    assert ImageLimits.from_settings(settings).sizes == (1280, 400)  # largest first
    env = {"CITYFED_MEDIA_IMAGE_SIZES": "1000, 500", "CITYFED_MEDIA_KEEP_ORIGINAL": "yes"}
    settings = load_settings(path, env=env)
    assert settings.media_image_sizes == (1000, 500) and settings.media_keep_original is True


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[media]\nstorage = "ftp"\n', "[media] storage"),
        ("[media]\nimage_sizes = [800, 0]\n", "[media] image_sizes"),
        ("[media]\nimage_sizes = []\n", "[media] image_sizes"),
        ('[media]\nimage_formats = ["gif"]\n', "[media] image_formats"),
        ("[media]\nmax_image_pixels = -1\n", "[media] max_image_pixels"),
        ('[media]\nstorage = "s3"\n', "s3_bucket"),
        ("[media]\nprocessing_concurrency = 0\n", "processing_concurrency"),
    ],
)
def test_bad_values_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_settings(write(tmp_path, text), env={})


def test_write_then_load_round_trips_media_values(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[media]\nimage_sizes = [1600, 640]\nimage_formats = ["webp"]\nstorage = "s3"\n'
        's3_bucket = "b"\nremote_cache_bytes = 1000\n',
    )
    settings = load_settings(path, env={})
    out = tmp_path / "again.toml"
    write_settings(settings, out)
    again = load_settings(out, env={})
    assert again.media_image_sizes == (1600, 640)
    assert again.media_image_formats == ("webp",)
    assert (again.media_storage, again.media_s3_bucket) == ("s3", "b")
    assert again.media_remote_cache_bytes == 1000
    assert "image_sizes = [1600, 640]" in out.read_text()
