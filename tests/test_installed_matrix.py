"""Scenario.installed_matrix: the sites x skus table of installed units, as the pivot table it
replaced gives it (rows of one site and sku summed, a missing count as 0, unknown ids left out)."""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from helpers import M, chip, market, site, write_scenario

from optimizer.inputs.validation import load_scenario


def pivot(s) -> pd.DataFrame:
    table = s.installed.pivot_table(index="site_id", columns="sku", values="units", aggfunc="sum", fill_value=0.0)
    return table.reindex(index=s.sites.index, columns=s.chips.index, fill_value=0.0)


def test_installed_matrix_is_the_pivot_table(tmp_path):
    folder = write_scenario(tmp_path / "s", sites=[site("a", "USA"), site("b", "USA"), site("c", "USA")],
                            chips=[chip("X"), chip("Y")], markets=[market("m", "USA", M)])
    s = load_scenario(folder)
    installed = pd.DataFrame({"site_id": ["a", "a", "b", "zz", "c", "c"], "sku": ["X", "X", "Y", "X", "Q", "Y"],
                              "units": [2.0, 3.0, 4.0, 9.0, 1.0, np.nan]})
    s = dataclasses.replace(s, installed=installed)
    got = s.installed_matrix()
    pd.testing.assert_frame_equal(got, pivot(s))
    assert got.loc["a", "X"] == 5.0 and got.loc["b", "Y"] == 4.0 and got.loc["c"].sum() == 0.0
    empty = dataclasses.replace(s, installed=installed.iloc[:0])
    assert (empty.installed_matrix().to_numpy() == 0).all() and empty.installed_matrix().shape == (3, 2)
    infinite = dataclasses.replace(s, installed=pd.DataFrame({"site_id": ["a"], "sku": ["X"], "units": [np.inf]}))
    pd.testing.assert_frame_equal(infinite.installed_matrix(), pivot(infinite))     # inf stays inf, as before
