"""The kinds of findings in the submitted code, each declared once: its text for the student, how the integrity
report names it, what it costs, its mistake id and the advice's words; and what each kind of unreadable code is."""
from typing import NamedTuple


class FindingKind(NamedTuple):
    """One kind of finding in the submitted code, declared once for the grader (lab2_grader.overrule), the advice
    (_history_notes), the source reading (source_rules) and the integrity report (tools/integrity_report.py)."""
    text: str          # what it is, in the student's words
    report: str        # how the integrity report names it, for the TA ({rule}: the rule, {what}: what it does)
    cost: str          # AFTER: every test after its cell scores 0; REVIEW: every test after it waits for a TA at 0;
    #                    DERIVATIVE: its part's derivative test scores 0; "": nothing (a reason to look)
    mistake: str = ""  # the mistake id of a test it decides ({part}: the part's name)
    advice: str = ""   # what the visible tests' advice says ({number}: In[number], {line}, {what})


AFTER, REVIEW, DERIVATIVE = "every test after it", "held for review", "the derivative"
FINDING_KINDS = {
    "tampering": FindingKind("改动了评分内核", "tampering with the grading kernel ({rule}; every test after it scored 0)",
                             AFTER, "kernel_tampering", "In[{number}] 第 {line} 行{what}:之后的测试评分时都得 0 分。"),
    "unreadable_code": FindingKind(
        "评分程序读不懂的代码", "unreadable code: needs review ({rule}; every test after it is held at 0 until a TA reads "
                        "the code and gives the points back in the Formgrader)", REVIEW, "needs_review",
        "In[{number}] 第 {line} 行{what}:评分程序读不懂,之后的测试评分时先记 0 分,等助教读过代码后再给分。"),
    "autograd": FindingKind("在导数里用了自动求导", "autograd in a derivative ({rule}; the derivative scored 0)", DERIVATIVE,
                            "{part}_autograd"),
    "risky": FindingKind("伸向内核之外的代码(进程、网络、文件、成绩库)", "risky: {what}", ""),
    "monkeypatch": FindingKind("改动了库或内置函数", "monkeypatch ({rule})", ""),
    "helper_redefined": FindingKind("重新定义了测试用的辅助函数", "redefines a check helper ({rule})", ""),
    "syntax": FindingKind("语法错误", "does not parse", ""),
}
UNREADABLE = {
    "exec": "执行了运行时才拼出来的代码(exec/eval/compile 的参数不是写死的字符串)",
    "name": "用运行时拼出来的名字从模块里取东西(getattr、vars、__dict__ 等)",
    "import": "导入了运行时才决定的模块,或提交里自己写出来的模块",
    "value": "把 getattr/exec/import_module 这类函数当作值传来传去",
    "dynamic": "用 runpy/marshal/pickle/types.FunctionType/importlib.util 等方式运行看不见的代码",
    "magic": "用了评分程序读不懂的魔法命令(%run、%load 或自定义的魔法命令等)",
    "too_deep": "代码嵌套太深,评分程序读不了",
    "process": "在别的进程里,或在定时器、fork 钩子决定的时刻运行代码(multiprocessing、signal.setitimer、"
               "os.register_at_fork 等):评分时记录运算的工具只看得到这个内核进程在调用期间运行的代码",
}
