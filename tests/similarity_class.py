"""A class made for the similarity report (tests/test_similarity.py, benchmarks/similarity.py): honest students, and
copies planted among them, disguised the ways students disguise.

Honest students
- each part's answer cell is one of the corpus's correct forms (tests/corpus: the master's solution and every
  CORRECT variant), so that many share one-liners, written in the student's own way: some names renamed (to common
  names, or to an odd one of their own), a comment of their own, and now and then a line of their own (a print, an
  assert, a result held in a variable, a small helper);
- 思考题 answers composed from the rubric's key points, each in one of several wordings, in an order and with the
  connectives of their own, a few words of their own, and often a sentence with their own experiment's numbers;
- scratch cells of their own (new cell ids), prints of their own runs (unseeded numbers), an error or two, the
  experiments' outputs and plots of their own run, and execution counts from "Run All" or from working cell by cell.

Planted copies (PLANTED): variables renamed and comments changed; functions reordered; answers reworded and their
sentences reordered; one part copied, the rest their own; answers only; the whole file; a trio. Each copier is an
honest student otherwise. A notebook is written as JSON (submitted/<student>/lab2_regularization/...), from the
release (course.release_nb()), as tools/submissions.py fills it.
"""
import copy
import json
import random
import re
from pathlib import Path

import course
from grading.parts import part_name
from tools import submissions

# ---------------------------------------------------------------- the 思考题: key points, each in several wordings
KEY_POINTS = {
    "q1": [
        ["线性层的复合仍然是线性映射,W2(W1x+b1)+b2 可以合并成 W'x+b'",
         "多个线性变换叠加起来还是一个线性变换,两层的权重相乘就能合成一层",
         "如果激活函数是线性的,每一层都是矩阵乘法加偏置,连起来等价于一次矩阵乘法",
         "线性函数的组合依然是线性函数,所以多层线性网络和单层没有区别"],
        ["没有非线性,再深的网络也只相当于一个线性模型,只能画出线性的决策边界",
         "这样的网络无法拟合异或这样的非线性问题",
         "网络的表达能力被限制在线性函数,像 XOR 这种线性不可分的数据就分不开",
         "深度就失去了意义,模型只能做线性回归或者线性分类"],
        ["非线性激活函数让神经网络可以逼近任意复杂的函数,这就是通用逼近定理",
         "引入非线性以后,网络才能学习复杂的非线性关系,加深网络才有意义",
         "激活函数给网络带来非线性变换的能力,使它能表示弯曲的决策边界"],
    ],
    "q2": [
        ["Sigmoid 的导数最大只有 0.25,Tanh 的导数最大为 1",
         "sigmoid 导数的最大值是 0.25,输入很大或很小时导数趋近于 0",
         "Sigmoid 和 Tanh 在饱和区的导数几乎为零",
         "sigmoid 的梯度范围是 (0, 0.25],tanh 是 (0, 1]"],
        ["反向传播时导数逐层相乘,越靠近输入层梯度越小,出现梯度消失",
         "链式法则把每层的导数乘在一起,小于 1 的数连乘会指数级衰减",
         "深层网络中前面几层的梯度非常小,参数几乎不更新",
         "梯度在反向传播的过程中不断变小,导致浅层学不到东西"],
        ["ReLU 在正半轴导数恒为 1,不会饱和,所以梯度不衰减",
         "ReLU 计算简单,正区间梯度为常数,因此在深度学习中更受欢迎",
         "ReLU 缓解了梯度消失,训练也更快"],
        ["所以激活函数决定了梯度能否有效传到前面的层,进而影响训练准确率",
         "梯度分布合理的网络参数更新充分,准确率就更高",
         "本实验中 Tanh 的准确率比 Sigmoid 高很多"],
    ],
    "q3": [
        ["当神经元的输入对所有样本都小于 0 时,ReLU 的输出和梯度都是 0,权重不再更新",
         "ReLU 在负半轴梯度为零,一旦神经元落入这个区域就再也激活不了",
         "如果某个神经元的预激活一直是负的,它的梯度恒为 0,这个神经元就死了"],
        ["学习率过大会使一次更新把权重推到很负的区域",
         "初始化不当或者偏置太负也会导致神经元死亡",
         "过大的学习率和不好的初始化是常见原因"],
        ["可以使用 LeakyReLU、PReLU 或 ELU,它们在负半轴有非零梯度",
         "减小学习率、使用 He 初始化可以缓解这个问题",
         "加入 BatchNorm 让每层输入的分布更稳定",
         "换成 Leaky ReLU 这种变体,负区间保留一个小斜率"],
    ],
    "q4": [
        ["加入 L2 正则化后权重整体变小,更集中在 0 附近",
         "L2 相当于权重衰减,每一步都把权重按比例缩小",
         "正则化以后权重的范数明显下降"],
        ["小权重让模型更平滑,对输入的微小扰动不敏感",
         "模型不能依靠很大的权重去拟合训练集中的噪声,所以泛化更好",
         "限制权重的大小就是限制模型复杂度,从而减轻过拟合"],
        ["λ 越大约束越强,太大会欠拟合",
         "正则化系数需要用验证集来选择",
         "λ 过小几乎没有效果,过大则模型学不到东西"],
    ],
    "q5": [
        ["每次训练随机丢弃一部分神经元,相当于训练很多共享权重的子网络",
         "Dropout 可以看成是对大量子网络做集成,测试时用完整网络近似它们的平均",
         "从集成学习的角度看,dropout 把很多个小网络的预测平均起来"],
        ["神经元不能依赖某几个特定的神经元,必须学习更鲁棒的特征",
         "它减少了神经元之间的共适应,迫使网络学到冗余的表示",
         "每个神经元都可能被丢掉,所以特征不会过度依赖彼此"],
        ["训练时把保留的值除以 1-p,使输出的期望和测试时一致",
         "测试时关闭 dropout,得到确定的预测",
         "缩放是为了保证训练和测试时每个神经元输出的期望相同",
         "model.eval() 会关掉 dropout,推理的结果就不再随机"],
    ],
}
OWN_SENTENCE = {  # a sentence with the student's own numbers
    "q1": lambda r: f"我用两层线性网络试了一下,去掉激活函数后训练损失停在 {r.uniform(0.3, 0.7):.3f} 左右就不再下降",
    "q2": lambda r: f"我的实验里 Sigmoid 网络第一层的梯度约为 {r.uniform(1, 9):.1f}e-{r.randint(5, 8)},"
                    f"而 ReLU 约为 {r.uniform(1, 9):.1f}e-{r.randint(2, 4)}",
    "q3": lambda r: f"我的实验中 ReLU 网络有 {r.uniform(35, 60):.1f}% 的激活值为 0,Tanh 只有 {r.uniform(0, 2):.2f}%",
    "q4": lambda r: f"实验中不加正则化时 w 的 L2 范数是 {r.uniform(10, 16):.2f},λ=3 时降到 {r.uniform(0.2, 1):.2f}",
    "q5": lambda r: f"加了 dropout 以后训练准确率从 {r.uniform(97, 99.5):.1f}% 降到 {r.uniform(90, 96):.1f}%,"
                    f"测试准确率是 {r.uniform(96, 99):.1f}%",
}
CONNECTIVES = ["", "", "", "首先,", "另外,", "而且", "同时", "此外,", "我认为", "可以看出", "总的来说,"]
SYNONYMS = [("所以", "因此"), ("非常", "十分"), ("可以", "能够"), ("导致", "造成"), ("使用", "采用"), ("明显", "显著"),
            ("很多", "大量"), ("几乎", "基本"), ("变小", "减小"), ("学习", "学到"), ("防止", "避免"), ("稳定", "平稳"),
            ("常见", "主要"), ("任意", "各种")]


def compose_answer(q, r):
    """An honest answer: the key points in the student's choice of wording, order and connectives."""
    points = [r.choice(ws) for ws in KEY_POINTS[q] if r.random() < 0.9]
    if r.random() < 0.5:
        r.shuffle(points)
    if r.random() < 0.6:
        points.insert(r.randint(0, len(points)), OWN_SENTENCE[q](r))
    text = "".join(r.choice(CONNECTIVES) + p + "。" for p in points)
    for a, b in SYNONYMS:
        if a in text and r.random() < 0.2:
            text = text.replace(a, b)
    return text


def reword(text, r, swaps=4):
    """A copy's disguise: a few words swapped, the sentences reordered."""
    pairs = [(a, b) for a, b in SYNONYMS if a in text] + [(b, a) for a, b in SYNONYMS if b in text]
    for a, b in r.sample(pairs, min(swaps, len(pairs))):
        text = text.replace(a, b, 1)
    sentences = [s for s in text.split("。") if s]
    r.shuffle(sentences)
    return "。".join(sentences) + "。"


# ---------------------------------------------------------------- code in the student's own way
API = {"MyReLU", "MySigmoid", "MyTanh", "Network", "l2_penalty", "dropout_layer", "self", "__call__", "derivative",
       "forward", "__init__", "super", "torch", "nn", "F", "np", "print", "range", "len", "float", "int", "getattr",
       "isinstance", "input_dim", "output_dim", "activation_name", "num_layers"}
COMMON_NAMES = ["out", "res", "result", "y", "tmp", "val", "z", "t", "v", "m", "ret", "h", "a"]
SYLLABLES = ["zh", "li", "wa", "ch", "yu", "xi", "qi", "ha", "mo", "ke", "ji", "su", "lu", "pe", "ta"]
COMMENTS = ["# 我的实现", "# 参考了课件上的公式", "# 这里要注意 x 的设备", "# 先算出函数值", "# 按定义写", "# TODO 检查一下",
            "# 自己推导的", "# 逐元素计算", "# 写完跑过测试了"]
NAME = re.compile(r"(?<![\w.])([A-Za-z_]\w*)\b")
ODD = re.compile(r"\b[a-z]{6}_[a-z]+\b")  # the odd names a student makes up (odd_name)
HELPER = "# 自己用来检查的小函数"
ONE_PART = {"dropout_impl", "forward_impl", "l2_impl", "sigmoid_impl", "tanh_impl", "relu_impl"}


def local_names(source):
    import ast
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    found = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    found |= {a.arg for n in ast.walk(tree) if isinstance(n, ast.arguments) for a in n.args}
    return sorted(n for n in found - API if not n.startswith("_"))


def rename(source, mapping):
    """Every use of each name of `mapping` (not an attribute, not inside a comment) renamed."""
    out = []
    for line in source.split("\n"):
        code, hash_, comment = line.partition("#")
        out.append(NAME.sub(lambda m: mapping.get(m.group(1), m.group(1)), code) + hash_ + comment)
    return "\n".join(out)


def odd_name(r):
    return "".join(r.choice(SYLLABLES) for _ in range(3)) + "_" + r.choice(["val", "buf", "tmp", "res", "mask", "arr", "k"])


CHAINS = [".abs()", ".mean()", ".max()", ".sum()", ".std()", ".min()", ".shape", ".dtype", ".numel()", ".float()",
          ".detach()", ".clone()", ".flatten()", ".item()"]


def own_line(r, var):
    """A line of the student's own: a check or a print, of their own making."""
    chain = "".join(r.sample(CHAINS, r.randint(1, 3)))
    check = r.choice([f"{var}{chain} is not None", f"{var}.dim() >= {r.randint(0, 2)}", f"{var}.shape[0] > {r.randint(0, 3)}",
                      f"not {var}{chain}.isnan().any()", f"{var}{chain} == {var}{chain}", f"torch.isfinite({var}{chain}).all()",
                      f"{var}.numel() > {r.randint(0, 9)}", f"len({var}) >= {r.randint(0, 4)}"])
    label = r.choice(['debug', 'dbg', '看一下', 'shape', 'here', 'ok'])
    return r.choice([f"print({var}{chain})", f"print('{label}', {var}{chain})",
                     f"assert {check}", f"assert {check}, '{r.choice(['出错了', 'bad', 'nan'])}'", f"# print({var}{chain})",
                     f"_ = {var}{chain}", f"print(float({var}{chain}) if {var}.numel() == 1 else {var}{chain})"])


def helper_function(r):
    """A small helper of the student's own: an odd name, lines and a test of their own making."""
    name, arg = odd_name(r), r.choice(["t", "v", "arr", "inp", "tensor"])
    body = [own_line(r, arg) for _ in range(r.randint(1, 3))]
    if r.random() < 0.5:
        body.append(f"{r.choice(['d', 'diff', 'gap'])} = {arg}{''.join(r.sample(CHAINS[:7], 2))} - {r.randint(0, 9)}")
    op = r.choice(["<", "<=", ">", "=="])
    body.append(f"return float({arg}{''.join(r.sample(CHAINS[:7], r.randint(1, 2)))}) {op} "
                f"{r.choice(['1e-6', '1e-5', '1e-4', '0.01', '0.5', '1', '3'])}")
    return f"def {name}({arg}):\n    {HELPER}\n" + "".join(f"    {l}\n" for l in body)


def personalize(source, r, vocab):
    """A correct form written in the student's own way; returns the source and whether it holds a line of its own."""
    names = local_names(source)
    mapping = {n: (vocab.pop() if vocab and r.random() < 0.3 else r.choice(COMMON_NAMES + [n] * 4))
               for n in names if r.random() < 0.35}
    source = rename(source, mapping)
    touched = False
    lines = source.split("\n")
    returns = [i for i, l in enumerate(lines) if l.strip().startswith("return ")]
    if returns and r.random() < 0.5:
        i = r.choice(returns)
        indent = lines[i][:len(lines[i]) - len(lines[i].lstrip())]
        first = next((n for n in local_names(source) if n in source), None) or "x"
        if r.random() < 0.5:
            held = r.choice(COMMON_NAMES + [odd_name(r)])
            lines[i:i + 1] = [f"{indent}{held} = {lines[i].strip()[7:]}", f"{indent}{own_line(r, held)}",
                              f"{indent}return {held}"]
        else:
            lines.insert(i, indent + own_line(r, first))
        touched = True
    if r.random() < 0.4:
        j = r.randrange(len(lines))
        lines.insert(j, lines[j][:len(lines[j]) - len(lines[j].lstrip())] + r.choice(COMMENTS))
    source = "\n".join(lines)
    if r.random() < 0.12:  # a small helper of their own
        source += "\n\n\n" + helper_function(r)
        touched = True
    return source, touched


def reorder_functions(source):
    """The functions and classes of a cell in reverse order, and the methods of each class."""
    def methods(block):
        head, *defs = re.split(r"\n(?=    def )", block)
        return "\n".join([head] + defs[::-1])
    head, *blocks = re.split(r"\n(?=def |class )", source)
    if head.lstrip().startswith(("def ", "class ")):
        head, blocks = "", [head] + blocks
    blocks = [methods(b.rstrip("\n")) + "\n" for b in blocks[::-1]]
    return (head.rstrip("\n") + "\n" if head.strip() else "") + "\n\n".join(blocks)


NUMBER = re.compile(r"-?\d+\.\d{3,}")


def run_again(outputs, r):
    """The outputs of the same code run again, unseeded: its numbers are new, its errors the same."""
    out = copy.deepcopy(outputs)
    for o in out:
        if o.get("output_type") == "stream":
            o["text"] = NUMBER.sub(lambda m: f"{r.uniform(-2, 9):.{len(m.group(0).split('.')[1])}f}", o["text"])
    return out


def change_comments(source, r):
    """Every comment dropped, some replaced by a word of the copier's."""
    lines = []
    for line in source.split("\n"):
        if "#" in line:
            line = line.split("#")[0].rstrip() + (f"  # {r.choice(['改过', '注释', '说明'])}" if r.random() < 0.5 else "")
        lines.append(line)
    return "\n".join(lines)


# ---------------------------------------------------------------- the notebook's own traces
def new_id(r):
    return "".join(r.choice("0123456789abcdef") for _ in range(8))


def png(r):
    """The bytes of a plot of an unseeded run: a PNG header and bytes of its own."""
    import base64
    return base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(r.getrandbits(8) for _ in range(240))).decode()


def stream(text):
    return {"name": "stdout", "output_type": "stream", "text": text}


def tensor_line(r, n, random_values):
    values = [f"{r.gauss(0, 1):.4f}" if random_values else f"{float(r.randint(-3, 3)):.4f}" for _ in range(n)]
    return f"tensor([{', '.join(values)}])"


def scratch_cell(r, vocab):
    """A scratch cell of the student's own: inputs and calls of their choosing, and what its run printed."""
    var = r.choice(["x", "t", "a", "test", "inp", vocab[-1] if vocab else "x"])
    if r.random() < 0.2:
        typo = r.choice(["MyRelu", "mysigmoid", "Mytanh", "dropout", "l2_penality", "Mysigmoid"])
        return (f"print({typo}()({var}))", [{"output_type": "error", "ename": "NameError",
                                            "evalue": f"name '{typo}' is not defined", "traceback": []}])
    n = r.randint(3, 8)
    random_input = r.random() < 0.6
    lines = [r.choice([f"{var} = torch.randn({n})", f"{var} = torch.rand({n}) * {r.randint(2, 9)} - {r.randint(1, 4)}"])
             if random_input else f"{var} = torch.linspace({-r.randint(1, 5)}, {r.randint(1, 5)}, {n})"]
    calls = [f"MyReLU()({var})", f"MySigmoid()({var})", f"MyTanh().derivative({var})", f"MySigmoid().derivative({var})",
             f"dropout_layer({var}, {r.choice(['0.1', '0.2', '0.3', '0.5', '0.7'])})", f"l2_penalty({var})",
             f"MyReLU().derivative({var})", f"({var} > 0).float().mean()"]
    printed = []
    for call in r.sample(calls, r.randint(1, 3)):
        lines.append(r.choice([f"print({call})", f"print('{r.choice(['结果', 'out', '看看', 'check'])}', {call})"]))
        printed.append(tensor_line(r, n, random_input))
    if r.random() < 0.3:
        lines.insert(1, f"{r.choice(COMMON_NAMES)} = {var}.clone()")
    return "\n".join(lines), [stream("\n".join(printed) + "\n")]


def experiment_outputs(cell, r):
    """What the student's own run of an experiment cell printed and drew (unseeded: numbers and plots of its own)."""
    lines = [f"epoch {e + 1}, loss {r.uniform(0.1, 2.3):.4f}, train acc {r.uniform(0.1, 0.99):.4f}" for e in range(3)]
    return [stream("\n".join(lines) + "\n"),
            {"output_type": "display_data", "metadata": {}, "data": {"image/png": png(r), "text/plain": "<Figure>"}}]


# ---------------------------------------------------------------- a class
class ClassMaker:
    def __init__(self, release_nb, source_nb, corpus_variants, seed=0):
        self.release = release_nb        # JSON
        self.r = random.Random(seed)
        sol = submissions.solutions(source_nb)
        self.parts = [course.meta(c)["grade_id"] for c in source_nb.cells if course.meta(c).get("solution")
                      and c.cell_type == "code" and course.meta(c)["grade_id"] in ONE_PART]  # the lab's six: a part
        # an instructor adds stays as handed out in every notebook (the release's code counts for nothing), so the
        # class, and what the tests measure on it, do not change with it
        self.questions = [course.meta(c)["grade_id"] for c in source_nb.cells if course.meta(c).get("solution")
                          and c.cell_type == "markdown"]
        self.forms = {gid: [sol[gid]] for gid in self.parts}
        for v in corpus_variants:
            if v.kind == "correct":
                for gid, src in v.answers.items():
                    if gid in self.forms and src not in self.forms[gid]:
                        self.forms[gid].append(src)
        self.touched = {}  # student -> the parts that hold a line of their own

    def honest(self, student):
        """One honest student: answers (grade id -> source), added cells, outputs, counts style."""
        r = random.Random(f"{student}-{self.r.random()}")
        vocab = [odd_name(r) for _ in range(3)]
        answers, touched = {}, set()
        for gid in self.parts:
            forms = self.forms[gid]
            form = forms[0] if r.random() < 0.35 else r.choice(forms)
            answers[gid], t = personalize(form, r, vocab)
            if t:
                touched.add(gid)
        for gid in self.questions:
            answers[gid] = compose_answer(part_name(gid), r)
        scratch = [scratch_cell(r, vocab) for _ in range(r.randint(1, 4))]
        self.touched[student] = touched
        return {"answers": answers, "scratch": scratch, "seed": r.random(), "run_all": r.random() < 0.6}

    def notebook(self, work):
        """The notebook of a student's work: the release filled in, their cells added, their run's outputs."""
        r = random.Random(work["seed"])
        nb = copy.deepcopy(self.release)
        for cell in nb["cells"]:
            gid = (cell.get("metadata") or {}).get("nbgrader", {}).get("grade_id")
            if gid in work["answers"]:
                cell["source"] = work["answers"][gid]
            if cell["cell_type"] == "code" and course.RUN in cell.get("metadata", {}).get("tags", []):
                cell["outputs"] = work.get("outputs", {}).get(cell["id"]) or experiment_outputs(cell, r)
        slots = [i for i, c in enumerate(nb["cells"]) if (c.get("metadata") or {}).get("nbgrader", {}).get("solution")
                 and c["cell_type"] == "code"]
        for k, (src, outputs) in enumerate(work["scratch"]):
            at = slots[k % len(slots)] + 1 + k
            nb["cells"].insert(at, {"cell_type": "code", "id": work.get("ids", {}).get(k) or new_id(r), "metadata": {},
                                    "execution_count": None, "outputs": outputs, "source": src})
        count = 0
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                if work["run_all"]:
                    count += 1
                else:
                    count += r.choice([1, 1, 1, 2, 3, 5])
                cell["execution_count"] = count if work["run_all"] or r.random() < 0.9 else None
        return nb


PLANTED = ("renamed", "reordered", "reworded", "one_part", "answers_only", "whole_file", "trio")


def plant(maker, works, notebooks, students, r):
    """Copies planted among `students` (each copier and each source a distinct honest student); the planted pairs,
    {frozenset((copier, source)): disguise}."""
    pool = list(students)
    r.shuffle(pool)
    planted = {}

    def take():
        return pool.pop()
    for disguise in PLANTED:
        source = take()
        if disguise == "one_part":  # a part with a helper of the source's own: a copied one-liner is no evidence
            source = next(s for s in [source] + pool if any(HELPER in works[s]["answers"][g] for g in ONE_PART))
            if source in pool:
                pool.remove(source)
        src = works[source]
        copier = take()
        mine = works[copier]
        if disguise == "renamed":  # the common names renamed, the odd ones kept (as copiers do)
            mapping = {}
            for gid in maker.parts:
                for n in local_names(src["answers"][gid]):
                    if not ODD.fullmatch(n):
                        mapping.setdefault(n, n + "_" + r.choice(["new", "2", "my"]))
            mine["answers"].update({gid: change_comments(rename(src["answers"][gid], mapping), r) for gid in maker.parts})
            mine["scratch"] = [(rename(s, mapping), run_again(o, r)) for s, o in src["scratch"]] + mine["scratch"][:1]
        elif disguise == "reordered":
            mine["answers"].update({gid: reorder_functions(src["answers"][gid]) for gid in maker.parts})
            mine["scratch"] = [(reorder_functions(s), run_again(o, r)) for s, o in src["scratch"][::-1]]
        elif disguise == "reworded":
            mine["answers"].update({gid: reword(src["answers"][gid], r) for gid in maker.questions})
        elif disguise == "one_part":
            gid = next(g for g in sorted(ONE_PART) if HELPER in src["answers"][g])
            mapping = {n: n + "_x" for n in local_names(src["answers"][gid]) if not ODD.fullmatch(n)}
            mine["answers"][gid] = change_comments(rename(src["answers"][gid], mapping), r)
        elif disguise == "answers_only":
            mine["answers"].update({gid: src["answers"][gid] for gid in maker.questions})
        elif disguise == "whole_file":
            notebooks[copier] = copy.deepcopy(notebooks[source])
            planted[frozenset((copier, source))] = disguise
            continue
        elif disguise == "trio":
            third = take()
            base = notebooks[source]
            notebooks[copier] = copy.deepcopy(base)   # the file, its code renamed
            mapping = {n: n + "_b" for gid in maker.parts for n in local_names(src["answers"][gid])}
            for cell in notebooks[copier]["cells"]:
                gid = (cell.get("metadata") or {}).get("nbgrader", {}).get("grade_id")
                if gid in maker.parts:
                    cell["source"] = rename("".join(cell["source"]), mapping)
            rerun = copy.deepcopy(src)                # the code and the answers, reworded, run again: same cell ids
            rerun["answers"].update({gid: reword(src["answers"][gid], r, swaps=2) for gid in maker.questions})
            rerun["ids"] = {k: cell["id"] for k, cell in enumerate(c for c in base["cells"] if c["cell_type"] == "code"
                                                                    and c["id"] not in maker.release_ids)}
            rerun["seed"] = r.random()
            rerun["scratch"] = [(s, run_again(o, r)) for s, o in src["scratch"]]
            notebooks[third] = maker.notebook(rerun)
            for pair in ((source, copier), (source, third), (copier, third)):
                planted[frozenset(pair)] = disguise
            continue
        notebooks[copier] = maker.notebook(mine)
        planted[frozenset((copier, source))] = disguise
    return planted


def make_class(release_nb, source_nb, corpus_variants, n, seed=0, plant_every=100):
    """n students: {student: notebook JSON}, and the planted pairs ({frozenset(pair): disguise}); one set of planted
    copies (PLANTED) per `plant_every` students."""
    maker = ClassMaker(release_nb, source_nb, corpus_variants, seed)
    maker.release_ids = {c.get("id") for c in release_nb["cells"]}
    students = [f"s{i:04d}" for i in range(n)]
    works = {s: maker.honest(s) for s in students}
    notebooks = {s: maker.notebook(works[s]) for s in students}
    planted, r = {}, random.Random(seed + 1)
    for start in range(0, n - plant_every + 1, plant_every):
        planted.update(plant(maker, works, notebooks, students[start:start + plant_every], r))
    return notebooks, planted


def write_class(folder, notebooks):
    for student, nb in notebooks.items():
        path = course.submitted_nb(folder, student)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(nb, ensure_ascii=False), encoding="utf-8")


def release_json(folder=course.ROOT):
    return json.loads(Path(course.release_nb(folder)).read_text(encoding="utf-8"))
