import pytest

from lpcbench.zoo.registry import PAPER_NAMES, VARIANTS, get_variant, parse_model_ids

TABLE_III_IDS = ["lpc", "lpc_wide", "lpc_narrow", "lpc_nopen", "lpc_scl", "linpen", "nonlinpen", "nopen", "scl", "arcface", "cosface"]


def test_registry_has_table_iii():
    assert list(VARIANTS) == TABLE_III_IDS


def test_l2_penalty_only_on_lpc_variants():
    assert {v.model_id for v in VARIANTS.values() if v.l2_penalty} == {"lpc", "lpc_wide", "lpc_narrow", "lpc_nopen", "lpc_scl"}


def test_paper_spellings_map_to_ids():
    for spelling in ("LPC-NOPEN", "LPC-NOPEL", "LPC-NO PEN", "LPC-NOPE"):
        assert PAPER_NAMES[spelling] == "lpc_nopen"
    assert PAPER_NAMES["NOPEL"] == "nopen"


def test_parse_all_keeps_order():
    assert parse_model_ids("all") == TABLE_III_IDS


def test_parse_deduplicates():
    assert parse_model_ids("lpc, nopen,lpc") == ["lpc", "nopen"]


def test_unknown_id_lists_valid_ids():
    with pytest.raises(ValueError, match=r"unknown model id 'lcp': expected one of lpc, lpc_wide, .*, cosface"):
        parse_model_ids("lpc,lcp")
    with pytest.raises(ValueError, match=r"unknown model id 'x'"):
        get_variant("x")


def test_empty_model_list_rejected():
    with pytest.raises(ValueError, match=r"empty model list ' , ': expected 'all' or ids"):
        parse_model_ids(" , ")
