"""montecarlo end to end: the price agrees with Black-Scholes within three
standard errors, is the same bits on 1-4 ranks, and survives a stop and resume."""

import math
import unittest

import h5py

from spare_testing import SpareTestCase, write_job

MONTECARLO = {"job": {"kernel": "montecarlo", "steps": "1000"},
              "montecarlo": {"samples": "600000", "batch": "100000"}}


def black_scholes(spot, strike, rate, volatility, maturity, call):
    cdf = lambda x: 0.5 * math.erfc(-x / math.sqrt(2.0))
    sd = volatility * math.sqrt(maturity)
    d1 = (math.log(spot / strike) + (rate + 0.5 * volatility**2) * maturity) / sd
    d2 = d1 - sd
    k = strike * math.exp(-rate * maturity)
    return spot * cdf(d1) - k * cdf(d2) if call else k * cdf(-d2) - spot * cdf(-d1)


def diagnostics(output):
    with h5py.File(output / "result.h5", "r") as f:
        return {name: float(value) for name, value in f["diagnostics"].attrs.items()}


class MonteCarlo(SpareTestCase):
    def job(self, **extra):
        sections = {name: dict(keys) for name, keys in MONTECARLO.items()}
        for name, keys in extra.items():
            sections.setdefault(name, {}).update(keys)
        return write_job(self.tmp / "mc.ini", heat2d=None, **sections)

    def test_price_matches_black_scholes(self):
        cases = [("call", 100, 100, 0.05, 0.2, 1.0), ("put", 100, 110, 0.03, 0.35, 0.5),
                 ("call", 50, 70, 0.01, 0.5, 2.0)]
        for option, spot, strike, rate, volatility, maturity in cases:
            job = self.job(montecarlo={"option": option, "spot": spot, "strike": strike,
                                       "rate": rate, "volatility": volatility,
                                       "maturity": maturity})
            out = self.tmp / f"{option}-{strike}"
            self.spare("run", job, "--output", out)
            d = diagnostics(out)
            expected = black_scholes(spot, strike, rate, volatility, maturity, option == "call")
            self.assertEqual(d["samples"], 600000)
            self.assertGreater(d["standard_error"], 0)
            self.assertLess(abs(d["price"] - expected), 3 * d["standard_error"],
                            f"{option} K={strike}: {d} vs {expected}")
            self.assertAlmostEqual(d["black_scholes"], expected, places=10)

    def test_same_bits_on_one_to_four_ranks(self):
        job = self.job()
        prices = set()
        for ranks in (1, 2, 3, 4):
            out = self.tmp / f"r{ranks}"
            self.spare("run", job, "--ranks", ranks, "--output", out)
            d = diagnostics(out)
            prices.add((d["price"].hex(), d["standard_error"].hex()))
        self.assertEqual(len(prices), 1, prices)

    def test_stopping_and_resuming_changes_nothing(self):
        job = self.job()
        self.spare("run", job, "--output", self.tmp / "whole")
        out = self.tmp / "parts"
        short = self.spare("run", job, "--set", "job.steps=2", "--ranks", 3, "--output", out)
        self.assertIn("warning: the job reached its last step (2) before montecarlo finished",
                      short.stderr)
        self.assertEqual(diagnostics(out)["samples"], 200000)
        self.spare("run", job, "--ranks", 1, "--output", out)
        self.assertEqual(diagnostics(out), diagnostics(self.tmp / "whole"))


if __name__ == "__main__":
    unittest.main()
