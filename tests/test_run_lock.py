"""The run lock: one run at a time per warehouse, and a dead run's lock does not block the next;
and what a build leaves beside the warehouse."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from pipelines.runtime.project import dbt_env
from pipelines.runtime.run_lock import MAX_AGE, RunLock, WarehouseBusy
from pipelines.runtime.settings import MEMORY_LIMIT_VAR, read_settings
from pipelines.runtime.warehouse import Warehouse, clone_or_copy, out_of_memory_hint


def hold(lock: RunLock, run_id: str, pid: int, started: datetime | None = None, host: str | None = None) -> None:
    started = started or datetime.now(UTC)
    lock.path.write_text(
        json.dumps(
            {"run_id": run_id, "host": host or socket.gethostname(), "pid": pid, "started_at": started.isoformat()}
        )
    )


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


@pytest.fixture
def lock(tmp_path) -> RunLock:
    return RunLock(tmp_path / ".warehouse.duckdb.lock")


def test_a_run_takes_and_releases_the_lock(lock):
    assert lock.acquire("run-1") is None
    holder = lock.holder()
    assert (holder.run_id, holder.pid, holder.host) == ("run-1", os.getpid(), socket.gethostname())
    assert lock.acquire("run-1") is None  # the same run again (a re-executed step)
    assert not lock.release("run-2")  # only the holder releases it
    assert lock.release("run-1")
    assert not lock.path.exists()


def test_a_second_run_stops_while_a_live_run_holds_the_lock(lock):
    hold(lock, "run-1", os.getpid())
    with pytest.raises(WarehouseBusy) as busy:
        lock.acquire("run-2")
    message = str(busy.value)
    assert "run-1" in message and str(lock.path) in message and "delete the file" in message
    assert lock.holder().run_id == "run-1"


def test_a_lock_whose_process_died_is_taken_over(lock):
    hold(lock, "run-1", dead_pid())
    stale = lock.acquire("run-2")
    assert stale.run_id == "run-1"
    assert lock.holder().run_id == "run-2"


def test_a_lock_of_a_run_dagster_knows_has_finished_is_taken_over(lock):
    hold(lock, "run-1", os.getpid(), host="another-machine")  # its process can't be checked from here
    with pytest.raises(WarehouseBusy):
        lock.acquire("run-2", run_finished=lambda run_id: False)
    assert lock.acquire("run-2", run_finished=lambda run_id: run_id == "run-1").run_id == "run-1"


def test_a_lock_older_than_the_maximum_age_is_taken_over(lock):
    started = datetime.now(UTC) - MAX_AGE - timedelta(minutes=1)
    hold(lock, "run-1", os.getpid(), started=started, host="another-machine")
    assert lock.acquire("run-2").run_id == "run-1"


def test_the_failure_sensor_releases_the_lock_of_the_failed_runs_own_warehouse(tmp_path, monkeypatch):
    from dagster import (
        ConfigurableResource,
        DagsterInstance,
        build_run_status_sensor_context,
        job,
        op,
    )

    from pipelines.defs.publish import release_lock_of_failed_run
    from pipelines.runtime.resources import RESOURCE_KEY, run_config
    from pipelines.runtime.warehouse import Warehouse

    class StandIn(ConfigurableResource):  # the run resource's config shape, without its set-up
        data_dir: str
        config_path: str
        warehouse_path: str
        as_of: str = ""

    @op(required_resource_keys={RESOURCE_KEY})
    def breaks():
        raise RuntimeError("a step failed")

    @job(resource_defs={RESOURCE_KEY: StandIn.configure_at_launch()})
    def nightly():
        breaks()

    # the code location's ROI_WAREHOUSE names another warehouse: the run's own config wins
    monkeypatch.setenv("ROI_WAREHOUSE", str(tmp_path / "other.duckdb"))
    warehouse = Warehouse(tmp_path / "warehouse.duckdb")
    instance = DagsterInstance.ephemeral()
    config = run_config(
        data_dir=tmp_path, config_path=tmp_path / "initiatives.yml", warehouse=warehouse.path, as_of=None
    )
    result = nightly.execute_in_process(run_config=config, instance=instance, raise_on_error=False)
    warehouse.run_lock.acquire(result.run_id)
    context = build_run_status_sensor_context(
        sensor_name="release_lock_of_failed_run",
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        dagster_event=result.get_run_failure_event(),
    ).for_run_failure()
    release_lock_of_failed_run(context)
    assert not warehouse.run_lock.path.exists()


def test_a_lock_just_created_by_another_run_is_read_once_it_is_written(lock):
    # The other run has created the file but not yet written its holder; it does so 0.3 s
    # later. This run waits for it and then stops, naming that run.
    lock.path.touch()
    writer = threading.Timer(0.3, hold, args=(lock, "run-starting", os.getpid()))
    writer.start()
    try:
        with pytest.raises(WarehouseBusy, match="run-starting"):
            lock.acquire("run-2")
    finally:
        writer.join()


def test_the_build_holds_duckdb_to_the_memory_limit(tmp_path, monkeypatch):
    warehouse = Warehouse(tmp_path / "w.duckdb")
    fresh = duckdb.connect()
    monkeypatch.delenv(MEMORY_LIMIT_VAR, raising=False)
    assert read_settings().duckdb_memory_limit == "768MB"  # unset: ROI Ledger's default
    fresh.execute("set memory_limit = '768MB'")
    with warehouse.connect() as con:
        assert (
            con.sql("select current_setting('memory_limit')").fetchone()
            == fresh.sql("select current_setting('memory_limit')").fetchone()
        )
    monkeypatch.setenv(MEMORY_LIMIT_VAR, "512MB")
    fresh.execute("set memory_limit = '512MB'")
    with warehouse.connect() as con:
        assert (
            con.sql("select current_setting('memory_limit')").fetchone()
            == fresh.sql("select current_setting('memory_limit')").fetchone()
        )
    assert dbt_env(warehouse.build_file)[MEMORY_LIMIT_VAR] == "512MB"  # what dbt's profile reads
    monkeypatch.setenv(MEMORY_LIMIT_VAR, "80%")  # DuckDB takes sizes only
    with pytest.raises(ValueError, match="ROI_DUCKDB_MEMORY_LIMIT='80%'.*e.g. 2GB"):
        read_settings()


def test_an_out_of_memory_failure_says_which_setting_to_raise(monkeypatch):
    monkeypatch.setenv(MEMORY_LIMIT_VAR, "512MB")
    failure = "Out of Memory Error: failed to pin block of size 256.0 KiB (953.4 MiB/953.6 MiB used)"
    assert out_of_memory_hint(failure).startswith(
        "DuckDB needed more than its memory limit (ROI_DUCKDB_MEMORY_LIMIT=512MB): set it higher"
    )
    assert out_of_memory_hint("Binder Error: column x not found") is None


def test_a_killed_runs_spill_folder_goes_with_its_build(tmp_path):
    warehouse = Warehouse(tmp_path / "w.duckdb")
    warehouse.build_spill.mkdir()
    (warehouse.build_spill / "duckdb_temp_storage-0.tmp").write_bytes(b"spilled")
    warehouse.start_build("run-2")
    assert not warehouse.build_spill.exists()
    warehouse.run_lock.release("run-2")


@pytest.fixture(scope="module")
def cloning_folder(tmp_path_factory):
    """A folder on a filesystem that clones files: ``ROI_TEST_CLONING_DIR`` when set, else a
    small XFS image mounted for these tests (root and mkfs.xfs from xfsprogs, which ./dev test
    installs)."""
    given = os.environ.get("ROI_TEST_CLONING_DIR")
    if given:
        folder = Path(tempfile.mkdtemp(prefix="roi-cloning-", dir=given))  # the tests' files go with it
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    mkfs = shutil.which("mkfs.xfs", path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin")
    if os.geteuid() != 0 or mkfs is None:
        raise RuntimeError(
            "testing copy-on-write clones needs a folder on XFS or btrfs: run as root with xfsprogs installed "
            "(./dev test installs it), or set ROI_TEST_CLONING_DIR to such a folder"
        )
    root = tmp_path_factory.mktemp("cloning")
    image, mounted = root / "xfs.img", root / "mnt"
    mounted.mkdir()
    with open(image, "wb") as sparse:
        sparse.truncate(1 << 30)
    subprocess.run([mkfs, "-q", "-m", "reflink=1", str(image)], check=True)
    subprocess.run(["mount", "-o", "loop", str(image), str(mounted)], check=True)
    try:
        yield mounted
    finally:
        subprocess.run(["umount", str(mounted)], check=False)


def rows(path: Path) -> int:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.sql("select count(*) from t").fetchone()[0]


def test_a_build_shares_the_published_warehouses_blocks_where_the_filesystem_clones(cloning_folder):
    warehouse = Warehouse(cloning_folder / "w.duckdb")
    with duckdb.connect(str(warehouse.path)) as con:
        con.execute("create table t as select range as i, md5(range::varchar) as h from range(2000000)")
    size = warehouse.path.stat().st_size
    used = shutil.disk_usage(cloning_folder).used
    warehouse.start_build("run-1")
    assert shutil.disk_usage(cloning_folder).used - used < size / 10  # the build holds no second copy
    with warehouse.connect() as con:
        con.execute("insert into t values (-1, 'new')")
        con.execute("checkpoint")
    assert rows(warehouse.path) == 2_000_000  # the published file is not touched by the build's writes
    warehouse.publish("run-1")
    assert rows(warehouse.path) == 2_000_001


def test_a_file_is_cloned_or_copied_byte_for_byte(tmp_path, cloning_folder):
    cloned = {}
    for folder in (tmp_path, cloning_folder):  # wherever the tests run (a copy on ext4), and on XFS
        source = folder / "source.bin"
        source.write_bytes(os.urandom(3 << 20))
        cloned[folder] = clone_or_copy(source, folder / "target.bin")
        assert (folder / "target.bin").read_bytes() == source.read_bytes()
    assert cloned[cloning_folder] is True


# --- roi forget waits its turn behind a running night (docs/privacy.md) ---------------------

FORGET_SALT = "a-salt-for-the-forget-tests-0123456789"


def small_warehouse(path: Path) -> Path:
    """A published warehouse holding one customer's order and one rejected row of theirs."""
    from roi_ledger.privacy import salt_fingerprint

    with duckdb.connect(str(path)) as con:
        con.execute("create schema raw")
        con.execute(
            "create table raw.salt_fingerprint as select ? as fingerprint, now() as recorded_at",
            [salt_fingerprint(FORGET_SALT)],
        )
        con.execute(
            "create table raw.orders as select 'o1' as order_id, sha256(? || 'ann') as customer_id", [FORGET_SALT]
        )
        con.execute(
            "create table raw.rejected_rows as select json_object('customer_id', sha256(? || 'ann')) as record",
            [FORGET_SALT],
        )
    return path


def test_forget_waits_for_a_running_night_then_erases(tmp_path, monkeypatch, capsys):
    from pipelines.commands import main as roi_main
    from pipelines.commands.exit_codes import EXIT_OK

    monkeypatch.setenv("ROI_PSEUDONYM_SALT", FORGET_SALT)
    warehouse = small_warehouse(tmp_path / "w.duckdb")
    lock = Warehouse(warehouse).run_lock
    hold(lock, "the-night", os.getpid())  # a live run holds the warehouse ...
    threading.Timer(1.5, lock.release, ["the-night"]).start()  # ... and publishes 1.5 s later
    code = roi_main(["forget", "--warehouse", str(warehouse), "--customer", "ann", "--wait", "30"])
    out = capsys.readouterr().out
    assert code == EXIT_OK and "waiting for the warehouse" in out and "the-night" in out
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select count(*) from raw.orders").fetchone()[0] == 0
        assert con.execute("select count(*) from raw.rejected_rows").fetchone()[0] == 0
    assert not lock.path.exists()


def test_forget_gives_up_after_its_wait_with_exit_2(tmp_path, monkeypatch, capsys):
    from pipelines.commands import main as roi_main
    from pipelines.commands.exit_codes import EXIT_INVALID_INPUT

    monkeypatch.setenv("ROI_PSEUDONYM_SALT", FORGET_SALT)
    warehouse = small_warehouse(tmp_path / "w.duckdb")
    stamp = warehouse.stat().st_mtime_ns
    lock = Warehouse(warehouse).run_lock
    hold(lock, "the-night", os.getpid())
    code = roi_main(["forget", "--warehouse", str(warehouse), "--customer", "ann", "--wait", "1"])
    err = capsys.readouterr().err
    assert code == EXIT_INVALID_INPUT
    assert "waited 1 s and the warehouse is still busy" in err and "run the-night" in err
    assert warehouse.stat().st_mtime_ns == stamp and lock.holder().run_id == "the-night"


def test_a_run_with_another_salt_is_refused_before_dagster_starts(tmp_path, capsys):
    from pipelines.commands.run import same_salt

    warehouse = Warehouse(small_warehouse(tmp_path / "w.duckdb"))
    assert same_salt(warehouse, FORGET_SALT)
    assert not same_salt(warehouse, "another-salt-altogether-0123456789")
    err = capsys.readouterr().err
    assert err.startswith("invalid input:\nROI_PSEUDONYM_SALT is not the salt") and "another-salt" not in err
    assert same_salt(Warehouse(tmp_path / "new.duckdb"), "another-salt-altogether-0123456789")  # no warehouse yet
