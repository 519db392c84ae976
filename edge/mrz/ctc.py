"""From the line recogniser's frames to one probability row per printed character (pure numpy).

The recogniser (``mrz-ocrb``) is trained with CTC: for each output frame it gives the
probabilities of the 37 MRZ characters and of *blank* (no character here), in that order. A
line's text is the best path with repeats merged and blanks dropped. The MRZ decoder needs one
row per character position, so each character of the path is represented by its peak frame:
that frame's 37 character probabilities, *not* renormalised, so a character the model barely
saw (blank-dominated) keeps a low probability and cannot pass as a confident read.

An MRZ line has a known length (30, 36 or 44). When the best path has another length (a run of
fillers merged, a speck read as a character), the best path of exactly that length is found by
Viterbi over (characters emitted, current character) states.
"""

from __future__ import annotations

import numpy as np

from edge.mrz.checkdigit import MRZ_ALPHABET

BLANK = len(MRZ_ALPHABET)  # index of the blank class, after the 37 MRZ characters
_NEG = -1e30


def best_path(probs: np.ndarray) -> list[tuple[int, int]]:
    """(class, peak frame) of each character on the unconstrained best path of [T, 38] *probs*."""
    best = probs.argmax(axis=1)
    chars: list[tuple[int, int]] = []
    prev = BLANK
    for t, k in enumerate(best):
        k = int(k)
        if k != BLANK:
            if k != prev:
                chars.append((k, t))
            elif probs[t, k] > probs[chars[-1][1], k]:
                chars[-1] = (k, t)
        prev = k
    return chars


def path_of_length(probs: np.ndarray, n: int) -> list[tuple[int, int]] | None:
    """(class, peak frame) of each character on the best path with exactly *n* characters.

    States per frame: (k characters emitted so far, and either blank or the current character
    class c). A new character starts from blank or from a different class (CTC merges repeats
    that are not separated by a blank). None when *n* characters do not fit in the frames.
    """
    frames, n_classes = probs.shape
    chars = n_classes - 1
    if n <= 0 or frames < n:
        return None
    lp = np.log(np.maximum(probs, 1e-12))
    # score[k, c] for c < chars: in the k-th character (1-based) of class c; score[k, chars]:
    # in blank after k characters
    score = np.full((n + 1, n_classes), _NEG)
    score[0, chars] = lp[0, chars]
    score[1, :chars] = lp[0, :chars]
    # back-pointers: for a character state, 0 = stayed, 1 = came from blank, 2 + c' = from
    # character c'; for a blank state, 0 = stayed blank, 1 + c = from character c
    back = np.zeros((frames, n + 1, n_classes), np.int16)
    ks = np.arange(n + 1)
    for t in range(1, frames):
        in_char = score[:, :chars]
        top = in_char.argmax(axis=1)
        top_score = in_char[ks, top]
        second = in_char.copy()
        second[ks, top] = _NEG
        runner = second.argmax(axis=1)
        runner_score = second[ks, runner]
        new = np.full_like(score, _NEG)
        step = np.zeros((n + 1, n_classes), np.int16)
        # blank: stay blank, or end the current character
        from_char = top_score > score[:, chars]
        new[:, chars] = np.where(from_char, top_score, score[:, chars]) + lp[t, chars]
        step[:, chars] = np.where(from_char, top + 1, 0)
        # character c at count k: stay in c, or start it after blank / a different class at k - 1
        stay = score[:, :chars]
        prev_blank = np.full(n + 1, _NEG)
        prev_blank[1:] = score[:-1, chars]
        prev_top, prev_top_c = np.full(n + 1, _NEG), np.zeros(n + 1, np.int64)
        prev_run, prev_run_c = np.full(n + 1, _NEG), np.zeros(n + 1, np.int64)
        prev_top[1:], prev_top_c[1:] = top_score[:-1], top[:-1]
        prev_run[1:], prev_run_c[1:] = runner_score[:-1], runner[:-1]
        # from a different character: the best previous class unless it is c itself
        other = np.where(np.arange(chars)[None, :] == prev_top_c[:, None], prev_run[:, None], prev_top[:, None])
        other_c = np.where(np.arange(chars)[None, :] == prev_top_c[:, None], prev_run_c[:, None], prev_top_c[:, None])
        options = np.stack([stay, np.broadcast_to(prev_blank[:, None], stay.shape), other])
        choice = options.argmax(axis=0)
        new[:, :chars] = options.max(axis=0) + lp[t, :chars]
        step[:, :chars] = np.where(choice == 2, 2 + other_c, choice)
        back[t] = step
        score = new
    end_blank, end_char = score[n, chars], score[n, :chars]
    if max(end_blank, end_char.max()) <= _NEG / 2:
        return None
    state = chars if end_blank >= end_char.max() else int(end_char.argmax())
    k = n
    states = []
    for t in range(frames - 1, -1, -1):
        states.append((k, state))
        if t == 0:
            break
        move = int(back[t, k, state])
        if state == chars:
            if move != 0:
                state = move - 1
        else:
            if move == 1:
                k, state = k - 1, chars
            elif move >= 2:
                k, state = k - 1, move - 2
    states.reverse()
    out: list[tuple[int, int]] = []
    current = (0, chars)
    for t, (k, c) in enumerate(states):
        if c == chars:
            current = (k, c)
            continue
        if (k, c) != current:
            out.append((c, t))
            current = (k, c)
        elif probs[t, c] > probs[out[-1][1], c]:
            out[-1] = (c, t)
    return out if len(out) == n else None


MAX_FORCED = 2  # characters the best path may be short or long by and still be forced to length


def character_rows(probs: np.ndarray, n: int) -> tuple[np.ndarray, bool] | None:
    """[n, 37] rows for a line of *n* characters, and whether the best path had to be forced to n.

    None when the best path is more than MAX_FORCED characters off: that is another line length,
    a block upside down, or no MRZ, and forcing it would only cost time.
    """
    path = best_path(probs)
    forced = len(path) != n
    if abs(len(path) - n) > MAX_FORCED:
        return None
    if forced:
        path = path_of_length(probs, n)
        if path is None:
            return None
    frames = np.array([t for _, t in path])
    return probs[frames, : probs.shape[1] - 1], forced
