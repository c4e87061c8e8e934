"""Round-trip times and the markets' own rules on links.csv pairs.

links.csv says which (market, site) pairs may serve; each pair still obeys its market's rules:
``in_country_only`` (the site's country is the market's) and ``max_rtt_ms`` applied to the
pair's round-trip time, which is the link's ``rtt_ms`` when given and otherwise the great-circle
estimate ``0.015 ms/km x haversine km`` (R = 6371 km), the same estimate used without links.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

EARTH_RADIUS_KM = 6371.0
RTT_MS_PER_KM = 0.015
RTT_TOL_MS = 1e-9


def haversine_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """Great-circle distance in km between points given in degrees (broadcasts)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi, dlmb = p2 - p1, np.radians(lon2) - np.radians(lon1)
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def link_rtt_ms(links: pd.DataFrame, markets: pd.DataFrame, sites: pd.DataFrame) -> np.ndarray:
    """Each link's round-trip time: its rtt_ms, or the great-circle estimate where blank."""
    m, s = markets.index.get_indexer(links["market_id"]), sites.index.get_indexer(links["site_id"])
    rtt = links["rtt_ms"].to_numpy(float).copy()
    blank = np.isnan(rtt)
    rtt[blank] = RTT_MS_PER_KM * haversine_km(
        markets["lat"].to_numpy()[m[blank]], markets["lon"].to_numpy()[m[blank]],
        sites["lat"].to_numpy()[s[blank]], sites["lon"].to_numpy()[s[blank]])
    return rtt


def link_rule_breaks(links: pd.DataFrame, markets: pd.DataFrame,
                     sites: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rtt_ms, abroad, too_far) per link: abroad when its market is in_country_only and the
    site is in another country; too_far when its rtt exceeds the market's max_rtt_ms."""
    m, s = markets.index.get_indexer(links["market_id"]), sites.index.get_indexer(links["site_id"])
    rtt = link_rtt_ms(links, markets, sites)
    abroad = markets["in_country_only"].to_numpy(bool)[m] & (
        markets["country"].to_numpy()[m] != sites["country"].to_numpy()[s])
    too_far = rtt > markets["max_rtt_ms"].to_numpy(float)[m] + RTT_TOL_MS
    return rtt, abroad, too_far


def link_rule_notes(links: pd.DataFrame, markets: pd.DataFrame, sites: pd.DataFrame) -> list[str]:
    """One note counting the linked pairs that their market's rules keep from serving."""
    _, abroad, too_far = link_rule_breaks(links, markets, sites)
    dropped = abroad | too_far
    if not dropped.any():
        return []
    n = int(dropped.sum())
    pairs = [f"{a}/{b}" for a, b in zip(links["market_id"][dropped], links["site_id"][dropped])][:5]
    return [f"links.csv: {n} linked pair{'s' * (n > 1)} may not serve ({int(abroad.sum())} abroad for an "
            f"in_country_only market, {int((too_far & ~abroad).sum())} over the market's max_rtt_ms, using the "
            f"link's rtt_ms or, where blank, the great-circle estimate): {', '.join(pairs)}"
            f"{' ...' if n > len(pairs) else ''}"]
