"""Network.forward: correct forms and the mistakes of where the activation goes."""
from .kit import ALL_FORWARD, CORRECT, MISTAKE

ORDER = 40


def variants(kit):
    add, edit, fwd = kit.add, kit.edit, kit.fwd
    all_forward = ALL_FORWARD
    add("forward_index_loop", CORRECT, fwd(
        "        x = self.activation(self.input_layer(x))\n        for i in range(len(self.layers)):\n"
        "            x = self.activation(self.layers[i](x))\n        return self.output_layer(x)\n"))
    add("forward_layer_list", CORRECT, fwd(
        "        h = x\n        for layer in [self.input_layer, *self.layers]:\n            h = layer(h)\n"
        "            h = self.activation(h)\n        out = self.output_layer(h)\n        return out\n"))
    add("forward_activation_after_output", MISTAKE, {"forward_impl": edit(
        "forward_impl", "return self.output_layer(x)", "return self.activation(self.output_layer(x))")}, all_forward,
        mistakes={"forward_mismatch"})
    add("forward_no_activation_after_input", MISTAKE, {"forward_impl": edit(
        "forward_impl", "x = self.activation(self.input_layer(x))", "x = self.input_layer(x)")}, all_forward,
        mistakes={"forward_mismatch"})
    add("forward_no_activation_between_hidden", MISTAKE, {"forward_impl": edit(
        "forward_impl", "x = self.activation(layer(x))", "x = layer(x)")}, all_forward, mistakes={"forward_mismatch"})
    add("forward_only_first_hidden", MISTAKE, fwd(
        "        x = self.activation(self.input_layer(x))\n        x = self.activation(self.layers[0](x))\n"
        "        return self.output_layer(x)\n"), all_forward, mistakes={"forward_mismatch"})
    add("forward_torch_relu", MISTAKE, fwd(
        "        x = torch.relu(self.input_layer(x))\n        for layer in self.layers:\n"
        "            x = torch.relu(layer(x))\n        return self.output_layer(x)\n"), all_forward,
        message="self.activation", mistakes={"forward_mismatch", "forward_no_self_activation"})
    add("forward_no_super_init", MISTAKE, {"forward_impl": edit(
        "forward_impl", "        super(Network, self).__init__()\n", "")}, all_forward, message="无法创建", compares=False,
        mistakes={"forward_construct_error"})
    add("forward_layers_renamed", MISTAKE, {"forward_impl": kit.sol["forward_impl"].replace("self.layers", "self.hidden")},
        all_forward, message="读不到网络的层", mistakes={"forward_layers_missing"})
