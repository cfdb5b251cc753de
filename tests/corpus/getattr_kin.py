"""getattr and its kin, with built names on modules or passed around as values: needs review."""

ORDER = 170


def variants(kit):
    review, relu = kit.review, kit.relu
    fam = "getattr and kin as values"
    review("relu_getattr_as_value", "relu_impl", relu("g = getattr\n        return g(torch, 'ul'[::-1].join(['re', '']))(x)",
                                                     "return (x > 0).to(x.dtype)")["relu_impl"], family=fam)
    review("relu_vars_of_module", "relu_impl", relu("return vars(torch)['ul'[::-1].join(['re', ''])](x)",
                                                    "return (x > 0).to(x.dtype)")["relu_impl"], family=fam)
    review("relu_module_dict", "relu_impl", relu("return torch.__dict__['ul'[::-1].join(['re', ''])](x)",
                                                 "return (x > 0).to(x.dtype)")["relu_impl"], family=fam)
    review("relu_attrgetter_built", "relu_impl", relu(
        "import operator\n        return operator.attrgetter(''.join(reversed('ulfr')))(torch)(x)",
        "return (x > 0).to(x.dtype)")["relu_impl"], family=fam, mistakes={"relu_runtime_error"})
    review("relu_map_getattr", "relu_impl", relu(
        "f, = map(getattr, [torch], ['r' + 'elu'[:]])\n        return f(x)", "return (x > 0).to(x.dtype)")["relu_impl"],
        family=fam)
