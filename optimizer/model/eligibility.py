"""Which sites may serve which markets, and at what round-trip time.

With links.csv, its pairs may serve, each still under its market's in_country_only and max_rtt_ms
(rtt_ms from the file, or the estimate below when blank; see optimizer.inputs.links).
Otherwise a pair (m, s) is eligible when

    rtt(m, s) = 0.015 ms/km · haversine(m, s) <= max_rtt_ms_m,  haversine with R = 6371 km,

and, for an ``in_country_only`` market, country_s = country_m. Sites whose country bans all
compute (Tier 3 under a policy with ``ban_tier3``) can hold no units, so they never serve.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from optimizer.inputs.links import EARTH_RADIUS_KM, RTT_MS_PER_KM, haversine_km, link_rule_breaks
from optimizer.inputs.scenario import Scenario
from optimizer.model.reduce import unit_vectors

CHUNK = 2_000_000  # market-site pairs evaluated per block, to bound memory on large fleets


def eligible_pairs(s: Scenario) -> pd.DataFrame:
    """All eligible (market, site) pairs as columns market_id, site_id, rtt_ms (positional
    codes ``m`` and ``s`` into ``s.markets`` and ``s.sites`` included), sorted by market then site."""
    if s.links is not None:
        pairs = _from_links(s)
    else:
        pairs = _from_distance(s)
    if s.policy.ban_tier3:
        pairs = pairs.loc[s.sites["tier"].to_numpy()[pairs["s"].to_numpy()] != 3]
    return pairs.sort_values(["m", "s"]).reset_index(drop=True)


def banned_in_reach(s: Scenario, market_pos: np.ndarray) -> np.ndarray:
    """For each market (positions into ``s.markets``): would a Tier-3 site serve it, were the
    Tier-3 ban lifted? (So a market with no eligible site is blamed on the ban only when true.)"""
    tier3 = s.sites["tier"].to_numpy() == 3
    if not s.policy.ban_tier3 or not tier3.any() or not len(market_pos):
        return np.zeros(len(market_pos), bool)
    markets, sites = s.markets.iloc[market_pos], s.sites.loc[tier3]
    links = (None if s.links is None else
             s.links.loc[s.links["market_id"].isin(markets.index) & s.links["site_id"].isin(sites.index)])
    lifted = dataclasses.replace(s, markets=markets, sites=sites, links=links,
                                 policy=dataclasses.replace(s.policy, ban_tier3=False))
    return np.isin(np.arange(len(market_pos)), eligible_pairs(lifted)["m"].to_numpy())


def _from_links(s: Scenario) -> pd.DataFrame:
    """links.csv's pairs that their market's rules let serve (in_country_only, max_rtt_ms)."""
    links = s.links
    rtt, abroad, too_far = link_rule_breaks(links, s.markets, s.sites)
    keep = ~(abroad | too_far)
    return pd.DataFrame({"market_id": links["market_id"].to_numpy()[keep],
                         "site_id": links["site_id"].to_numpy()[keep], "rtt_ms": rtt[keep],
                         "m": s.markets.index.get_indexer(links["market_id"])[keep],
                         "s": s.sites.index.get_indexer(links["site_id"])[keep]})


SCREEN_BAND = 1e-9   # pairs whose haversine a lies this close to a market's threshold get the exact rule


def _distance_blocks(s: Scenario, block: int):
    """Yield (first market, eligible block) over chunks of ``block`` markets: the rule
    0.015 ms/km · haversine <= max_rtt_ms (and in_country_only) for markets x all sites.

    The round-trip time 0.015·2R·arcsin(√a) grows with the haversine a = (1 - u_m·u_s)/2 (u: unit
    vectors), so one matrix product screens every pair against its market's threshold
    a*_m = sin²(max_rtt_ms / (0.015·2R)): a pair clearly below it (by SCREEN_BAND, a million times
    the rounding of either a) is eligible, clearly above it is not, and only the few in between
    are decided by the rule itself (:func:`pair_rtt_ms`): the bits are
    the rule's, pair by pair, without a sine per pair (30,000 sites x 4,800 markets: 24 s to ~1 s).
    """
    mk, st = s.markets, s.sites
    mlat, mlon = mk["lat"].to_numpy(float), mk["lon"].to_numpy(float)
    slat, slon = st["lat"].to_numpy(float), st["lon"].to_numpy(float)
    um, us = unit_vectors(mlat, mlon), unit_vectors(slat, slon)
    limit = mk["max_rtt_ms"].to_numpy(float)
    with np.errstate(invalid="ignore"):
        angle = limit / (RTT_MS_PER_KM * 2 * EARTH_RADIUS_KM)
        threshold = np.where(angle >= np.pi / 2, np.inf, np.sin(np.minimum(angle, np.pi / 2)) ** 2)
    own = mk["in_country_only"].to_numpy(bool)
    codes = pd.factorize(np.concatenate([mk["country"].to_numpy(), st["country"].to_numpy()]))[0]
    mc, sc = codes[:len(mk)], codes[len(mk):]
    for start in range(0, len(mk), block):
        rows = slice(start, start + block)
        cosine = um[rows] @ us.T                      # a < a* <=> cosine > 1 - 2a*
        floor = 1.0 - 2.0 * threshold[rows, None]
        ok = cosine > floor + 2 * SCREEN_BAND
        mi, si = np.nonzero((cosine >= floor - 2 * SCREEN_BAND) & ~ok)
        ok[mi, si] = pair_rtt_ms(s, start + mi, si) <= limit[start + mi]
        at_home = np.flatnonzero(own[rows])
        ok[at_home] &= mc[start + at_home, None] == sc[None, :]
        yield start, ok


def _from_distance(s: Scenario) -> pd.DataFrame:
    parts_m, parts_s = [], []
    for start, ok in _distance_blocks(s, max(1, CHUNK // max(1, len(s.sites)))):
        mi, si = np.nonzero(ok)
        parts_m.append(mi + start)
        parts_s.append(si)
    m = np.concatenate(parts_m) if parts_m else np.zeros(0, int)
    site = np.concatenate(parts_s) if parts_s else np.zeros(0, int)
    mk, st = s.markets, s.sites
    rtt = pair_rtt_ms(s, m, site)
    return pd.DataFrame({"market_id": mk.index.to_numpy()[m], "site_id": st.index.to_numpy()[site],
                         "rtt_ms": rtt, "m": m, "s": site})


def eligibility_bits(s: Scenario) -> np.ndarray:
    """Per site, its eligible markets as a packed bitset: uint8 array (sites, ceil(markets/8)).

    Same rule as :func:`eligible_pairs`, without materialising the pair list (which reaches
    millions of rows on whole fleets); banned Tier-3 sites get an empty set.
    """
    n_m, n_s = len(s.markets), len(s.sites)
    if s.links is not None:
        pairs = _from_links(s)
        dense = np.zeros((n_m, n_s), dtype=bool)
        dense[pairs["m"].to_numpy(), pairs["s"].to_numpy()] = True
        bits = np.packbits(dense, axis=0).T.copy()
    else:
        bits = _distance_bits(s)
    if s.policy.ban_tier3:
        bits[s.sites["tier"].to_numpy() == 3] = 0
    return bits


def _distance_bits(s: Scenario) -> np.ndarray:
    block = max(8, (CHUNK // max(1, len(s.sites))) // 8 * 8)       # whole bytes per chunk
    parts = [np.packbits(ok, axis=0) for _, ok in _distance_blocks(s, block)]
    if not parts:
        return np.zeros((len(s.sites), 0), dtype=np.uint8)
    return np.concatenate(parts, axis=0).T.copy()


def eligibility_key(s: Scenario) -> tuple:
    """Everything :func:`eligibility_bits` reads, hashed: equal keys give equal bitsets."""
    h = pd.util.hash_pandas_object
    parts = [int(h(s.markets[["country", "lat", "lon", "max_rtt_ms", "in_country_only"]], index=True).sum()),
             int(h(s.sites[["country", "lat", "lon", "tier"]], index=True).sum()), s.policy.ban_tier3]
    if s.links is not None:
        parts.append(int(h(s.links, index=False).sum()))
    return tuple(parts)


def pair_rtt_ms(s: Scenario, market_pos: np.ndarray, site_pos: np.ndarray) -> np.ndarray:
    """Round-trip time of given pairs: from links.csv when it sets one, else 0.015 ms/km x distance."""
    rtt = RTT_MS_PER_KM * haversine_km(
        s.markets["lat"].to_numpy()[market_pos], s.markets["lon"].to_numpy()[market_pos],
        s.sites["lat"].to_numpy()[site_pos], s.sites["lon"].to_numpy()[site_pos])
    if s.links is not None and s.links["rtt_ms"].notna().any():
        given = pd.Series(s.links["rtt_ms"].to_numpy(), index=pd.MultiIndex.from_arrays(
            [s.markets.index.get_indexer(s.links["market_id"]), s.sites.index.get_indexer(s.links["site_id"])]))
        lookup = given.reindex(pd.MultiIndex.from_arrays([market_pos, site_pos])).to_numpy()
        rtt = np.where(np.isnan(lookup), rtt, lookup)
    return rtt
