"""The exit codes of every `fleetboard` command, in one place (`fleetboard --help` lists them):

0  done: for collect, the whole board (history, latest.json, assets, index.html) is new
1  the board is red and --fail-on-red was given, or `inventory check` found drift, or
   `inventory import`/`check` left out an environment whose files are broken, or a
   channel did not answer `alerts test`
2  bad input (config, env files, arguments)
3  the pass ran but the board was not replaced: latest.json and index.html are still the
   last good board's (the snapshot failed its checks, or the folder could not be written
   before latest.json was); stderr lists any file that was written (a history object)
4  the board was replaced part-way: latest.json is new but index.html or an asset is
   not (a write failed after latest.json); stderr lists what was and was not written,
   and the next whole pass repairs it
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_RED = 1
EXIT_DRIFT = 1  # `inventory check`: the same code as a red board, "look at this"
EXIT_LEFT_OUT = 1  # `inventory import`/`check`: done, but an environment was left out
EXIT_ALERTS_UNANSWERED = 1  # `alerts test`: a channel did not answer
EXIT_BAD_INPUT = 2
EXIT_NOT_PUBLISHED = 3
EXIT_PART_PUBLISHED = 4
EXIT_INTERRUPTED = 130  # Ctrl-C: 128 + SIGINT, as a shell reports it

#: The short form, for the commands' --help.
EXIT_CODES = """exit codes:
  0  done (collect: the whole board is new)
  1  the board is red and --fail-on-red was given; `inventory check` found drift;
     `inventory import`/`check` left out an environment whose files are broken;
     `alerts test`: a channel did not answer
  2  bad input: config, env files, arguments
  3  the board was not replaced: latest.json and index.html are the last good board's
  4  the board was replaced part-way: latest.json is new, index.html or an asset is not"""
