"""Answers on their way from a customer to the results, without a trace of who sent them.

- `intake.py`: the one write path every channel uses (`store_answers`):
  claim the invitation or record the form's nonce, and store the answers
  sealed - never a response.
- `sealing.py`: what a waiting answer holds (`AnswerSheet`, its `Cell`) and
  how it is padded and sealed (HPKE from `cryptography`).
- `keys.py`: private keys on the mixing host, public keys in the database.
- `cells.py`: the rules - when a cell is released, how a finalised
  campaign's small cells are merged (pure functions).
- `mixer.py`: the mixing step that applies them (`flask mixer ...`, `cli.py`).
- `models.py`: answer keys, waiting answers, form nonces, counts.

Why this keeps every response's anonymity set at k or more, channel by
channel: docs/anonymity.md.
"""
