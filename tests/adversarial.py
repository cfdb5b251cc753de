"""Adversarial submissions for the sandboxed autograde, generated from the source notebook.

Each attack is the complete solution with code added to one answer cell. A listener on 127.0.0.1
(started by the test) and marker files in the course let the test see whether an attack got through.
Faults (a dying kernel, an endless loop, a fork bomb, huge output) must cost only their own
submission: the cells that ran before the fault keep their points.
"""
from dataclasses import dataclass

from tools import submissions

SECRET = "lab2_probe.check("  # text that only the hidden tests contain


@dataclass
class Attack:
    name: str
    cell: str              # the answer cell the code is appended to (or prepended with before=True)
    code: str
    blocked_if: str        # what the test checks: see tests/test_sandbox.py
    before: bool = False
    lost_parts: tuple = ()  # parts whose points the fault may cost (the fault's cell and after)
    also: tuple = ()        # more answer cells that get the same code


def attacks(port):
    return [
        Attack("read_gradebook_hidden_tests", "relu_impl", f"""
import glob, os, sqlite3
for path in glob.glob('../../../gradebook.db') + glob.glob('../../gradebook.db') + glob.glob('/**/gradebook.db', recursive=True):
    try:
        rows = sqlite3.connect(path).execute('select source from source_cell').fetchall()
        print('LEAK', [r[0] for r in rows if '{SECRET}' in (r[0] or '')])
    except Exception as e:
        print('blocked:', type(e).__name__, e)
""", "no_leak"),
        Attack("read_own_notebook_hidden_tests", "relu_impl", """
import glob
for path in glob.glob('*.ipynb') + glob.glob('../../../source/*/*.ipynb'):
    try:
        print('LEAK', open(path).read())
    except Exception as e:
        print('blocked:', type(e).__name__, e)
""", "no_leak"),
        Attack("print_kernel_history", "dropout_impl", """
ip = get_ipython()
print('HISTORY', ip.user_ns.get('In'))
ip.events.register('pre_run_cell', lambda info: print('NEXT CELL', info.raw_cell))
""", "no_leak_in_feedback"),
        Attack("rewrite_scores", "sigmoid_impl", """
import sqlite3
for path in ['../../../gradebook.db', '../../gradebook.db']:
    try:
        db = sqlite3.connect(path)
        db.execute('update grade set manual_score = 0')
        db.execute('update grade set auto_score = 100')
        db.commit()
        print('REWROTE', path)
    except Exception as e:
        print('blocked:', type(e).__name__, e)
""", "gradebook_intact"),
        Attack("change_other_students_and_source", "tanh_impl", """
import glob
targets = (glob.glob('../../*/lab2_regularization/*.ipynb') + glob.glob('../../../submitted/*/*/*.ipynb')
           + glob.glob('../../../source/*/*.ipynb') + glob.glob('../../../release/*/*.ipynb'))
print('visible:', targets)
for path in targets:
    try:
        text = open(path).read()
        open(path, 'w').write(text.replace('torch.maximum', 'torch.minimum'))
        print('CHANGED', path)
    except Exception as e:
        print('blocked:', type(e).__name__, e)
""", "files_intact"),
        Attack("write_outside_its_folder", "l2_impl", """
import os
for path in ['../../../PWNED.txt', '../../PWNED.txt', '../PWNED.txt', os.path.expanduser('~/PWNED.txt'), '/root/PWNED.txt']:
    try:
        open(path, 'w').write('pwned')
        print('WROTE', path)
    except Exception as e:
        print('blocked:', type(e).__name__, e)
""", "no_pwned_file"),
        Attack("connect_to_localhost", "dropout_impl", f"""
import socket
try:
    s = socket.create_connection(('127.0.0.1', {port}), timeout=3)
    s.sendall(b'PWNED')
    print('CONNECTED')
except Exception as e:
    print('blocked:', type(e).__name__, e)
""", "no_connection"),
        Attack("os_exit", "dropout_impl", "import os\nos._exit(1)\n", "keeps_earlier", lost_parts=("dropout",)),
        Attack("segfault", "l2_impl", "import ctypes\nctypes.string_at(0)\n", "keeps_earlier",
               lost_parts=("l2", "dropout")),
        Attack("out_of_memory", "forward_impl", "hog = [bytearray(2 ** 30) for _ in range(64)]\n", "keeps_earlier",
               before=True, lost_parts=("forward",)),
        Attack("endless_loop", "tanh_impl", "while True:\n    pass\n", "keeps_earlier", before=True,
               lost_parts=("tanh", "forward", "l2", "dropout")),
        Attack("fork_bomb", "dropout_impl", """
import subprocess, sys
subprocess.Popen([sys.executable, '-c', 'import os, time\\nwhile True:\\n    os.fork()\\n    time.sleep(0.2)'])
""", "keeps_earlier", lost_parts=("dropout",)),
        Attack("huge_output", "relu_impl", "print('x' * 100_000_000)\n", "keeps_earlier"),
        # budgets per notebook (tests/test_sandbox.py sets 70 s and 64 MiB): going over stops that notebook only
        Attack("sleeper", "sigmoid_impl", "import time\ntime.sleep(20)\n", "time_budget", before=True,
               lost_parts=("forward", "l2", "dropout"), also=("tanh_impl", "forward_impl", "l2_impl")),
        Attack("disk_filler", "l2_impl", """
import os
try:
    with open('filler.bin', 'wb') as f:
        for _ in range(200):
            f.write(b'\\0' * (1 << 20))
except OSError as e:
    print('disk full:', e)
""", "disk_budget", lost_parts=("l2", "dropout")),
        Attack("fill_the_ipc_folder", "relu_impl", """
import os, sys
ipc = os.path.dirname(os.path.dirname(sys.argv[sys.argv.index('-f') + 1]))
try:
    with open(os.path.join(ipc, 'filler.bin'), 'wb') as f:
        f.write(b'\\0' * (1 << 20))
    print('WROTE', ipc)
except OSError as e:
    print('blocked:', type(e).__name__, e)
""", "no_write_outside_the_budget"),
    ]


def submission(release_nb, source_nb, attack):
    sol = submissions.solutions(source_nb)
    code = attack.code.strip("\n")
    answers = dict(sol)
    for cell in (attack.cell, *attack.also):
        answers[cell] = f"{code}\n\n{sol[cell]}" if attack.before else f"{sol[cell]}\n\n{code}"
    return submissions.fill(release_nb, answers)
