#!/usr/bin/env bash
# Refresh the French and German catalogues from the sources, then compile them.
#
#   scripts/messages.sh                 re-extract (makemessages), compile the .mo files,
#                                       list what is left to translate
#   scripts/messages.sh untranslated    only list untranslated or fuzzy entries (exit 1 if any)
#   scripts/messages.sh compile         only compile .po -> .mo (pure Python, no GNU gettext)
#
# Extraction needs GNU gettext (apt-get install gettext); compiling does not. Add a
# language with `-l xx` below and in LANGUAGES (settings.py); see docs/translations.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
export DJANGO_SETTINGS_MODULE=strongroom.settings
python=${PYTHON:-python}
[ -x .venv/bin/python ] && python=${PYTHON:-$PWD/.venv/bin/python}

case "${1:-all}" in
  untranslated) exec "$python" -m strongroom.web.catalogues untranslated ;;
  compile) exec "$python" -m strongroom.web.catalogues compile ;;
  all) ;;
  *) echo "usage: scripts/messages.sh [untranslated|compile]" >&2; exit 2 ;;
esac

# Run from the package folder so every .py/.html/.txt under it is scanned and the catalogue
# lands in its locale/ (LOCALE_PATHS); tests and migrations hold nothing to translate.
(
  cd src/strongroom
  "$python" -m django makemessages -l fr -l de --no-obsolete \
    --extension html,txt,py --ignore 'migrations/*' --ignore 'tests/*'
)
"$python" -m strongroom.web.catalogues compile
"$python" -m strongroom.web.catalogues untranslated || {
  echo "Translate the entries above in src/strongroom/locale/*/LC_MESSAGES/django.po," >&2
  echo "then run scripts/messages.sh compile." >&2
  exit 1
}
