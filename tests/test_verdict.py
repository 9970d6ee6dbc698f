"""The verdict on transfer over training seeds (specadv.report.verdict): each wording, and
that each says only what its numbers show."""
import math

import pytest

from specadv.report.verdict import (VERDICTS, SeedBeyond, seed_verdict, transfer_verdict,
                                    verdict_sentence)

TRANSFER = [SeedBeyond(0, 2.2, (0.8, 3.7), 0.004), SeedBeyond(1, 1.5, (0.2, 2.9), 0.03),
            SeedBeyond(2, 3.0, (1.0, 5.0), 0.001)]
NONE = [SeedBeyond(0, 0.2, (-1.5, 1.7), 1.0), SeedBeyond(1, -0.3, (-2.0, 1.2), 0.8),
        SeedBeyond(2, 0.9, (-0.4, 2.1), 0.3)]
LESS = [SeedBeyond(0, -3.0, (-5.0, -1.0), 0.001), SeedBeyond(1, -2.1, (-3.9, -0.5), 0.01),
        SeedBeyond(2, -4.0, (-6.0, -2.0), 0.0005)]


def test_transfer_is_claimed_where_every_seeds_interval_is_above_zero():
    assert transfer_verdict(TRANSFER) == "transfer"
    text = verdict_sentence(TRANSFER, "mel", eps=0.3)
    assert text.startswith("Mel, BIM at 0.3 dB: the adversarial pattern transfers")
    assert "each of the 3 training seeds" in text and "1.5 to 3.0 points more" in text
    assert "every 95% interval above 0" in text and "McNemar p from 0.001 to 0.03" in text
    assert "no transfer" not in text and "disagree" not in text


def test_no_transfer_is_said_where_every_interval_includes_zero():
    assert transfer_verdict(NONE) == "none"
    text = verdict_sentence(NONE, "stft", eps=1.0)
    assert "STFT, BIM at 1 dB: no transfer beyond noise is shown" in text
    assert "-0.3 to +0.9 points" in text and "every 95% interval includes 0" in text
    assert "transfers" not in text


def test_less_than_noise_is_said_where_every_interval_is_below_zero():
    assert transfer_verdict(LESS) == "less than noise"
    text = verdict_sentence(LESS, "mel", attack="fgsm", eps=0.3)
    assert text.startswith("Mel, FGSM at 0.3 dB: the attack's audio fools the 1D CNN less "
                           "than random noise")
    assert "-4.0 to -2.1 points beyond noise" in text and "every 95% interval below 0" in text


def test_seeds_that_disagree_are_said_to_and_nothing_is_claimed():
    seeds = [TRANSFER[0], NONE[1], LESS[2]]
    assert transfer_verdict(seeds) == "seeds disagree"
    text = verdict_sentence(seeds, "mel", eps=0.3)
    assert "the training seeds disagree" in text
    assert "1 of 3 shows transfer beyond noise" in text and "1 of 3 shows no transfer" in text
    assert "1 of 3 shows less than noise" in text
    assert "seed 0: +2.2 (95% CI +0.8 to +3.7)" in text and "seed 2: -4.0" in text
    assert "claims neither transfer nor its absence" in text
    assert transfer_verdict([TRANSFER[0], NONE[0]]) == "seeds disagree"


def test_an_interval_above_zero_without_mcnemars_support_is_not_called_transfer():
    mixed = [SeedBeyond(0, 1.2, (0.1, 2.3), 0.2)]
    assert seed_verdict(mixed[0]) == "none"
    text = verdict_sentence(mixed)
    assert "no transfer beyond noise is shown" in text
    assert "includes 0" not in text  # it does not: the sentence must stay true
    assert "McNemar's test (p < 0.05)" in text
    # without McNemar's p the interval alone decides
    assert seed_verdict(SeedBeyond(0, 1.2, (0.1, 2.3))) == "transfer"
    assert math.isnan(SeedBeyond(0, 1.2, (0.1, 2.3)).p)


def test_one_seed_says_the_spread_over_seeds_is_not_measured():
    text = verdict_sentence(TRANSFER[:1], "mel")
    assert "at the one training seed" in text and "its 95% interval above 0" in text
    assert "how this holds over seeds is not measured" in text
    assert "not measured" not in verdict_sentence(TRANSFER, "mel")


def test_the_papers_figure_and_the_pooled_interval_are_given_beside_ours():
    text = verdict_sentence(NONE, "mel", eps=0.3, pooled=(0.3, -1.8, 2.2), ours=70.36,
                            paper=27.91)
    assert "+0.3 points (95% interval with the seeds' spread -1.8 to +2.2)" in text
    assert "The 1D CNN scores 70.4% on the attack's audio (the paper: 27.91%)." in text
    assert "paper" not in verdict_sentence(NONE, "mel")


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="at least one training seed"):
        transfer_verdict([])
    with pytest.raises(ValueError, match="seed 4: the interval"):
        seed_verdict(SeedBeyond(4, 1.0, (2.0, 0.5)))
    assert set(VERDICTS) == {"transfer", "none", "less than noise", "seeds disagree"}
