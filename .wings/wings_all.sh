set -e
cd /work/wings
git reset -q --hard && git clean -qfd
python3 /tmp/wings_move.py
python3 /tmp/wings_manual.py
python3 /tmp/wings_crop.py
python3 /tmp/wings_fix.py
python3 /tmp/wings_tf.py
python3 /tmp/wings_layout.py
python3 /tmp/wings_readme.py
sed -i 's|files = \[\*PROJECT_ROOT.glob("helpers/\*.py")|files = [*PROJECT_ROOT.glob("helpers/**/*.py")|' tests/test_config.py
/tmp/rufftool/bin/ruff check --isolated --select F,E9 --line-length 120 helpers tests experiments scripts | tail -3
