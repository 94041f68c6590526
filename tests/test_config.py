"""Config errors name the file and the key; env overrides YAML; paths are relative to the file."""

from __future__ import annotations

from datetime import time

import pytest
import yaml

from openbooks.config import load_config
from openbooks.errors import ConfigError
from tests.conftest import base_config_data

pytestmark = pytest.mark.pure  # no flow, no command


def write(tmp_path, data) -> str:
    path = tmp_path / "openbooks.yaml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return path


def error_of(path, **kwargs) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path, **kwargs)
    return str(info.value)


def test_shipped_config_loads():
    config = load_config("configs/openbooks.yaml")
    assert config.business_day.timezone == "Asia/Shanghai"
    assert config.business_day.start == time(12)
    assert config.hardware["H800"].gpus_per_node == 8
    assert config.warehouse_path.name == "warehouse.duckdb"


def test_unknown_key_names_file_key_and_allowed_keys(tmp_path):
    data = base_config_data()
    data["hardware"]["H800"]["gpus_per_nod"] = 8
    path = write(tmp_path, data)
    message = error_of(path)
    assert str(path) in message
    assert "hardware.H800.gpus_per_nod: unknown key" in message
    assert "gpus_per_node" in message


def test_missing_key(tmp_path):
    data = base_config_data()
    del data["hardware"]["H800"]["rental_usd_per_gpu_hour"]
    message = error_of(write(tmp_path, data))
    assert "hardware.H800.rental_usd_per_gpu_hour: missing required key" in message


def test_bad_value_says_what_was_expected(tmp_path):
    data = base_config_data()
    data["hardware"]["H800"]["gpus_per_node"] = "eight"
    message = error_of(write(tmp_path, data))
    assert "hardware.H800.gpus_per_node" in message and "integer" in message and "'eight'" in message


def test_bad_timezone(tmp_path):
    data = base_config_data()
    data["business_day"]["timezone"] = "Mars/Olympus"
    message = error_of(write(tmp_path, data))
    assert "business_day.timezone" in message and "IANA timezone" in message


def test_reference_model_must_have_a_price(tmp_path):
    data = base_config_data()
    data["price_book"]["reference_model"] = "gpt-5"
    assert "reference_model 'gpt-5' has no price" in error_of(write(tmp_path, data))


def test_duplicate_yaml_key_is_refused_with_its_line(tmp_path):
    path = write(tmp_path, "business_day:\n  timezone: UTC\n  timezone: Asia/Shanghai\n")
    message = error_of(path)
    assert "line 3" in message and "duplicate key 'timezone'" in message


def test_missing_file(tmp_path):
    assert "config file not found" in error_of(tmp_path / "nope.yaml")


def test_environment_overrides_yaml(tmp_path):
    path = write(tmp_path, base_config_data())
    config = load_config(path, environ={"OPENBOOKS__HARDWARE__H800__RENTAL_USD_PER_GPU_HOUR": "2.5"})
    assert config.hardware["H800"].rental_usd_per_gpu_hour == 2.5
    assert config.hash != load_config(path, environ={}).hash


def test_relative_paths_resolve_against_the_config_file(tmp_path):
    data = base_config_data()
    data["warehouse"]["path"] = "../wh/books.duckdb"
    (tmp_path / "conf").mkdir()
    path = tmp_path / "conf" / "openbooks.yaml"
    path.write_text(yaml.safe_dump(data))
    assert load_config(path).warehouse_path == tmp_path / "wh" / "books.duckdb"


def test_a_node_log_maps_the_same_columns_with_or_without_its_kind_named(tmp_path):
    """The feeds' columns are declared once (``openbooks.config.sources.FEEDS``):
    ``gpus`` was mappable with ``kind: node_log`` and refused without it."""
    for kind in ({}, {"kind": "node_log"}):
        data = base_config_data()
        data["sources"]["node_log"].update(kind, columns={"gpus": "gpus_held"})
        assert load_config(write(tmp_path, data)).sources.node_log.columns["gpus"]
    data = base_config_data()
    data["sources"]["node_log"]["columns"] = {"gpu_count": "x"}
    assert "maps unknown column(s) ['gpu_count']" in error_of(write(tmp_path, data))
