"""The lock state words (parking_lot/raw/_word.py): both implementations, each operation, and agreement.

Every test runs against each implementation this installation has (``c``: the compiled cffi
module; ``portable``: an int under a lock object); where the C one is present the two are
also run side by side on random operation sequences and must agree step by step.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parking_lot.raw import _word
from parking_lot.raw._word import ONE_READER, PARKED, READERS_MASK, UPGRADABLE, WRITER, WRITER_PARKED

from conftest import BOUND, start

IMPLS = _word.implementations()
HAVE_C = "c" in IMPLS


@pytest.fixture(params=list(_word.IMPLEMENTATIONS))
def ops(request):
    if request.param not in IMPLS:
        pytest.skip(f"the {request.param} implementation is unavailable here: {_word.unavailable_reason(request.param)}")
    return IMPLS[request.param]


def word(ops, value=0):
    return ops.new_word(value)


def test_the_c_module_is_built_where_a_compiler_exists():
    # As tests/test_build.py does for the futex: a suite run against an unbuilt tree would test
    # the portable words alone.
    if os.environ.get("PARKING_LOT_EXPECT_NO_FUTEX") == "1" or not any(
        shutil.which(cc) for cc in ("cc", "gcc", "clang")
    ):
        pytest.skip("no C compiler here (or PARKING_LOT_EXPECT_NO_FUTEX=1): the atomics module may be absent")
    assert HAVE_C, f"parking_lot._ffi._atomics is missing: {_word.unavailable_reason('c')}"


def test_selection_follows_the_environment():
    forced = os.environ.get(_word.ENV_VAR, "").strip()
    expected = forced or ("c" if HAVE_C else "portable")
    assert _word.implementation() == expected
    assert (_word.why_portable() is None) == (expected == "c")


def test_generic_operations(ops):
    w = word(ops, 5)
    assert ops.load(w) == 5
    ops.store(w, 9)
    assert ops.load(w) == 9
    assert ops.cas(w, 8, 1) == 0 and ops.load(w) == 9
    assert ops.cas(w, 9, 1) == 1 and ops.load(w) == 1
    assert ops.fetch_add(w, 16) == 1 and ops.load(w) == 17
    assert ops.fetch_add(w, -16) == 17 and ops.load(w) == 1
    assert ops.fetch_or(w, 0b110) == 1 and ops.load(w) == 0b111
    assert ops.fetch_and(w, ~0b10) == 0b111 and ops.load(w) == 0b101
    big = 1 << 62
    ops.store(w, big)
    assert ops.load(w) == big  # the whole 64-bit word, not a truncated one


def test_shared(ops):
    w = word(ops)
    assert ops.rw_try_shared(w) == 1 and ops.rw_try_shared(w) == 1 and ops.load(w) == 2 * ONE_READER
    assert ops.rw_unlock_shared(w) == 0 and ops.rw_unlock_shared(w) == 0 and ops.load(w) == 0
    assert ops.rw_unlock_shared(w) == -1 and ops.load(w) == 0  # nobody reads: nothing changes
    ops.store(w, WRITER | PARKED)
    assert ops.rw_try_shared(w) == 0 and ops.rw_try_shared_recursive(w) == 0 and ops.load(w) == WRITER | PARKED
    ops.store(w, WRITER | ONE_READER)  # a writer waits for one reader: only a recursive read gets in
    assert ops.rw_try_shared(w) == 0
    assert ops.rw_try_shared_recursive(w) == 1 and ops.load(w) == WRITER | 2 * ONE_READER
    # the last reader out with the writer parked for the readers: 1, the caller wakes it
    ops.store(w, WRITER | WRITER_PARKED | ONE_READER)
    assert ops.rw_unlock_shared(w) == 1 and ops.load(w) == WRITER | WRITER_PARKED
    ops.store(w, WRITER | WRITER_PARKED | 2 * ONE_READER)
    assert ops.rw_unlock_shared(w) == 0 and ops.load(w) == WRITER | WRITER_PARKED | ONE_READER
    # the upgradable reader is not a plain reader
    ops.store(w, UPGRADABLE | ONE_READER)
    assert ops.rw_unlock_shared(w) == -1 and ops.load(w) == UPGRADABLE | ONE_READER


def test_exclusive(ops):
    w = word(ops, PARKED)
    assert ops.rw_try_exclusive(w) == 1 and ops.load(w) == WRITER | PARKED
    assert ops.rw_try_exclusive(w) == 0
    assert ops.rw_unlock_exclusive(w) == 1 and ops.load(w) == WRITER | PARKED  # parked: slow path
    ops.store(w, WRITER)
    assert ops.rw_unlock_exclusive(w) == 0 and ops.load(w) == 0
    assert ops.rw_unlock_exclusive(w) == -1 and ops.load(w) == 0
    ops.store(w, WRITER | ONE_READER)  # WRITER waiting for a reader is not the write lock held
    assert ops.rw_unlock_exclusive(w) == -1 and ops.load(w) == WRITER | ONE_READER
    for blocked in (ONE_READER, UPGRADABLE | ONE_READER, WRITER):
        ops.store(w, blocked)
        assert ops.rw_try_exclusive(w) == 0 and ops.load(w) == blocked


def test_take_writer_and_give_it_back(ops):
    w, owned = word(ops, 3 * ONE_READER | PARKED), word(ops)
    assert ops.rw_take_writer(w, owned) == 1 and ops.load(owned) == 1
    assert ops.load(w) == 3 * ONE_READER | PARKED | WRITER
    other = word(ops)
    assert ops.rw_take_writer(w, other) == 0 and ops.load(other) == 0
    ops.fetch_or(w, WRITER_PARKED)
    ops.rw_give_writer_back(w, 0, owned)
    assert ops.load(owned) == 0 and ops.load(w) == 3 * ONE_READER | PARKED
    ops.store(w, UPGRADABLE | ONE_READER)
    assert ops.rw_take_writer(w, other) == 0 and ops.load(w) == UPGRADABLE | ONE_READER


def test_upgradable(ops):
    w = word(ops, ONE_READER)
    assert ops.rw_try_upgradable(w) == 1 and ops.load(w) == 2 * ONE_READER | UPGRADABLE
    assert ops.rw_try_upgradable(w) == 0
    assert ops.rw_try_upgrade(w) == 0  # another reader is inside
    assert ops.rw_unlock_shared(w) == 0
    assert ops.rw_try_upgrade(w) == 1 and ops.load(w) == WRITER
    assert ops.rw_try_upgrade(w) == -1 and ops.load(w) == WRITER
    assert ops.rw_downgrade(w, ONE_READER | UPGRADABLE) == WRITER and ops.load(w) == ONE_READER | UPGRADABLE
    assert ops.rw_downgrade(w, ONE_READER) == -1 and ops.load(w) == ONE_READER | UPGRADABLE
    assert ops.rw_downgrade_upgradable(w) == ONE_READER | UPGRADABLE and ops.load(w) == ONE_READER
    assert ops.rw_downgrade_upgradable(w) == -1 and ops.load(w) == ONE_READER
    assert ops.rw_unlock_upgradable(w) == -1
    ops.store(w, ONE_READER | UPGRADABLE)
    assert ops.rw_unlock_upgradable(w) == 0 and ops.load(w) == 0
    ops.store(w, ONE_READER | UPGRADABLE | PARKED)
    assert ops.rw_unlock_upgradable(w) == 1 and ops.load(w) == ONE_READER | UPGRADABLE | PARKED
    # the callback: hand a reader over and keep PARKED (more threads queued), or drop both
    assert ops.rw_unlock_upgradable_slow(w, ONE_READER, PARKED) == ONE_READER | PARKED
    ops.store(w, 2 * ONE_READER | UPGRADABLE | PARKED)
    assert ops.rw_unlock_upgradable_slow(w, 0, 0) == ONE_READER and ops.load(w) == ONE_READER
    ops.store(w, ONE_READER | UPGRADABLE)
    owned = word(ops)
    ops.rw_upgrade_take_writer(w, owned)
    assert ops.load(w) == WRITER and ops.load(owned) == 1
    ops.store(w, WRITER | ONE_READER | WRITER_PARKED)
    ops.rw_give_writer_back(w, ONE_READER | UPGRADABLE, owned)  # an upgrade that timed out
    assert ops.load(w) == 2 * ONE_READER | UPGRADABLE and ops.load(owned) == 0


def test_validates(ops):
    w = word(ops, ONE_READER)
    assert ops.rw_set_parked_if(w, WRITER) == 0 and ops.load(w) == ONE_READER
    assert ops.rw_set_parked_if(w, WRITER | UPGRADABLE) == 0
    ops.store(w, WRITER)
    assert ops.rw_set_parked_if(w, WRITER) == 1 and ops.load(w) == WRITER | PARKED
    assert ops.rw_writer_may_sleep(w) == 0 and ops.load(w) == WRITER | PARKED
    ops.store(w, WRITER | ONE_READER)
    assert ops.rw_writer_may_sleep(w) == 1 and ops.load(w) == WRITER | ONE_READER | WRITER_PARKED


# --- the two implementations agree ----------------------------------------------------------

_ONE_WORD_OPS = (
    "rw_try_shared", "rw_try_shared_recursive", "rw_unlock_shared", "rw_try_exclusive", "rw_unlock_exclusive",
    "rw_try_upgradable", "rw_unlock_upgradable", "rw_try_upgrade", "rw_downgrade_upgradable", "rw_writer_may_sleep",
)
_BITS = st.sampled_from([PARKED, WRITER_PARKED, UPGRADABLE, WRITER, ONE_READER, PARKED | ONE_READER, 0])
_STEP = st.one_of(
    st.tuples(st.sampled_from(_ONE_WORD_OPS)),
    st.tuples(st.just("rw_downgrade"), st.sampled_from([ONE_READER, ONE_READER | UPGRADABLE])),
    st.tuples(st.just("rw_set_parked_if"), st.sampled_from([WRITER, WRITER | UPGRADABLE])),
    st.tuples(st.just("rw_unlock_upgradable_slow"), st.sampled_from([0, ONE_READER, 2 * ONE_READER]), st.sampled_from([0, PARKED])),
    st.tuples(st.sampled_from(["rw_take_writer", "rw_upgrade_take_writer"]), st.just("owned")),
    st.tuples(st.just("rw_give_writer_back"), st.sampled_from([0, ONE_READER | UPGRADABLE]), st.just("owned")),
    st.tuples(st.sampled_from(["fetch_add", "fetch_or", "fetch_and"]), st.integers(-(2**20), 2**20)),
    st.tuples(st.just("cas"), st.integers(0, 64), st.integers(0, 2**40)),
    st.tuples(st.just("store"), st.integers(0, 2**40)),
    st.tuples(st.just("fetch_or"), _BITS),
)


@pytest.mark.skipif(not HAVE_C, reason="only the portable implementation is here")
@settings(max_examples=300, deadline=None)
@given(start_value=st.integers(0, 2**12), steps=st.lists(_STEP, max_size=40))
def test_c_and_portable_agree_on_random_sequences(start_value, steps):
    words = {name: (IMPLS[name].new_word(start_value), IMPLS[name].new_word(0)) for name in ("c", "portable")}
    for number, (name, *args) in enumerate(steps):
        seen = {}
        for impl, (w, owned) in words.items():
            ops = IMPLS[impl]
            # the C word is an int64_t: keep the random values inside it (the locks never leave it)
            if name in ("fetch_add", "store", "cas") and not 0 <= ops.load(w) + (args[0] if name == "fetch_add" else 0) < 2**62:
                continue
            call_args = [owned if a == "owned" else a for a in args]
            seen[impl] = (getattr(ops, name)(w, *call_args), ops.load(w), ops.load(owned))
        if len(seen) == 2:
            assert seen["c"] == seen["portable"], f"step {number} {name}{tuple(args)}: {seen}"


# --- many threads on one word: no update lost -------------------------------------------------


@pytest.mark.parametrize("threads", [2, 4])
def test_no_update_is_lost_under_contention(ops, threads):
    # On a free-threaded build these threads really run at once (CI runs the suite with the GIL
    # off); under the GIL the interpreter still switches threads between the operations.
    rounds = 3000
    w, counted = word(ops), word(ops)
    shared = [0]  # a plain Python read-modify-write, protected only by the word's write lock
    deadline = time.monotonic() + BOUND
    go = threading.Barrier(threads)

    def work():
        go.wait(BOUND)
        for _ in range(rounds):
            ops.fetch_add(counted, 1)
            while not ops.rw_try_shared(w):  # readers wait for the writer only
                assert time.monotonic() < deadline, "a read lock never came"
            assert not ops.load(w) & WRITER
            assert ops.rw_unlock_shared(w) in (0, 1)
            while not ops.rw_try_exclusive(w):
                assert time.monotonic() < deadline, "the write lock never came"
            value = shared[0]
            shared[0] = value + 1
            assert ops.rw_unlock_exclusive(w) == 0
            while True:  # a compare-and-swap increment of the counter's high half
                old = ops.load(counted)
                if ops.cas(counted, old, old + (1 << 32)):
                    break

    workers = [start(work) for _ in range(threads)]
    for worker in workers:
        worker.finish()
    assert shared[0] == threads * rounds
    assert ops.load(counted) == threads * rounds * ((1 << 32) + 1)
    assert ops.load(w) == 0


# --- the compiled module missing: the portable words run, and saying c fails clearly ---------------

_SIMULATE_MISSING = "import sys; sys.modules['parking_lot._ffi._atomics'] = None\n"


def _run(code, **env):
    environ = {k: v for k, v in os.environ.items() if k != _word.ENV_VAR}
    environ.update(env)
    return subprocess.run([sys.executable, "-c", _SIMULATE_MISSING + code], capture_output=True, text=True,
                          timeout=BOUND, env=environ)


def test_without_the_compiled_module_the_portable_words_run():
    done = _run(
        "from parking_lot import RwLock\n"
        "from parking_lot.raw import _word\n"
        "from parking_lot.__main__ import info_lines\n"
        "rw = RwLock(1)\n"
        "with rw.read() as g: assert g.value == 1\n"
        "with rw.write() as g: g.value = 2\n"
        "print(_word.implementation(), '|', _word.why_portable(), '|', [l for l in info_lines() if 'state words' in l][0])\n"
    )
    assert done.returncode == 0, done.stderr
    name, why, line = done.stdout.strip().split(" | ")
    assert name == "portable"
    assert "parking_lot._ffi._atomics is missing" in why and "C compiler" in why
    assert line.startswith("lock state words: portable (the compiled module") and "is missing" in line


def test_forcing_c_without_the_module_fails_at_import_saying_why():
    done = _run("import parking_lot", PARKING_LOT_ATOMICS="c")
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: PARKING_LOT_ATOMICS='c' is unavailable (the compiled module")
    assert last.endswith("this installation offers: portable")


def test_an_unknown_implementation_fails_at_import():
    done = _run("import parking_lot", PARKING_LOT_ATOMICS="asm")
    assert done.returncode != 0 and "PARKING_LOT_ATOMICS='asm' is unknown" in done.stderr
    with pytest.raises(ValueError, match="unknown atomics implementation 'asm'"):
        _word.unavailable_reason("asm")
