"""The distance rule's screen (optimizer.model.eligibility._distance_blocks): one matrix product
decides the pairs far from their market's threshold, the rule itself the rest; the bits and the
pair list must be the rule's, pair by pair, including pairs exactly at the limit."""
from __future__ import annotations

import numpy as np
import pytest
from helpers import M, chip, market, site, write_scenario

from optimizer import load_scenario
from optimizer.bench.generate import generate_fleet
from optimizer.inputs.links import RTT_MS_PER_KM, haversine_km
from optimizer.model import eligibility
from optimizer.model.eligibility import eligibility_bits, eligible_pairs


def rule(s) -> tuple[np.ndarray, np.ndarray]:
    """markets x sites: the rule's rtt (0.015 ms/km x haversine) and eligibility, pair by pair."""
    mk, st = s.markets, s.sites
    rtt = RTT_MS_PER_KM * haversine_km(mk["lat"].to_numpy()[:, None], mk["lon"].to_numpy()[:, None],
                                       st["lat"].to_numpy()[None, :], st["lon"].to_numpy()[None, :])
    home = mk["country"].to_numpy()[:, None] == st["country"].to_numpy()[None, :]
    ok = (rtt <= mk["max_rtt_ms"].to_numpy()[:, None]) & (~mk["in_country_only"].to_numpy(bool)[:, None] | home)
    if s.policy.ban_tier3:
        ok[:, s.sites["tier"].to_numpy() == 3] = False
    return rtt, ok


def assert_as_the_rule(s) -> np.ndarray:
    rtt, ok = rule(s)
    bits = np.unpackbits(eligibility_bits(s), axis=1, count=len(s.markets)).astype(bool).T
    assert np.array_equal(bits, ok)
    pairs = eligible_pairs(s)
    m, site_pos = np.nonzero(ok)
    assert np.array_equal(pairs["m"].to_numpy(), m) and np.array_equal(pairs["s"].to_numpy(), site_pos)
    assert np.array_equal(pairs["rtt_ms"].to_numpy(), rtt[m, site_pos])
    return ok


@pytest.mark.parametrize("sites,seed,tariffs", [(400, 1, "metro"), (700, 5, "site")])
def test_generated_fleets_get_the_rules_pairs(tmp_path, monkeypatch, sites, seed, tariffs):
    """In blocks of a few markets (CHUNK cut down), so each block's offsets count."""
    monkeypatch.setattr(eligibility, "CHUNK", 16 * sites)
    ok = assert_as_the_rule(load_scenario(generate_fleet(tmp_path / "f", sites=sites, skus=3, seed=seed,
                                                         tariffs=tariffs)))
    assert 0 < ok.mean() < 1


def test_pairs_at_the_limit_to_the_last_bit(tmp_path):
    """Markets whose max_rtt_ms is the rule's rtt to one site exactly, or one ulp less; a site on
    the market, one at the antipode, a limit beyond half the globe, an in-country-only market."""
    sites = [site("A", "DEU", 48.1, 11.6), site("B", "FRA", 48.9, 2.35), site("C", "USA", 40.7, -74.0),
             site("D", "AUS", -48.1, -168.4), site("E", "DEU", 52.5, 13.4)]
    at = lambda i, j: float(RTT_MS_PER_KM * haversine_km(np.array(sites[i]["lat"]), np.array(sites[i]["lon"]),
                                                           np.array(sites[j]["lat"]), np.array(sites[j]["lon"])))
    exact = at(0, 1)
    markets = [market("exact", "DEU", M, 48.1, 11.6, max_rtt_ms=exact),
               market("ulp_less", "DEU", M, 48.1, 11.6, max_rtt_ms=float(np.nextafter(exact, 0))),
               market("far", "DEU", M, 48.1, 11.6, max_rtt_ms=at(0, 2)),
               market("global", "DEU", M, 48.1, 11.6, max_rtt_ms=400.0),
               market("home", "DEU", M, 48.1, 11.6, max_rtt_ms=exact, in_country_only=True)]
    s = load_scenario(write_scenario(tmp_path, sites, [chip()], markets, policy="ban_tier3 = false\n"))
    ok = assert_as_the_rule(s)
    assert list(ok[0]) == [True, True, False, False, True]         # B at exactly the limit
    assert list(ok[1]) == [True, False, False, False, True]
    assert ok[2, 2] and ok[3].all() and list(ok[4]) == [True, False, False, False, True]
