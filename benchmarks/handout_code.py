"""The original handout's experiment code, as written (transcribed for the benchmark), with its
TODO cells filled by the reference solution. Only two things differ: the data folder and the epoch
counts are parameters, and plt.show() draws to the non-interactive Agg backend."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.optim as optim  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402
from torchvision import datasets, transforms  # noqa: E402

torch.manual_seed(42)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
DATA = './data'


class MyReLU:
    def __call__(self, x):
        return torch.maximum(x, torch.zeros_like(x))

    def derivative(self, x):
        return torch.where(x > 0, torch.ones_like(x), torch.zeros_like(x))


class MySigmoid:
    def __call__(self, x):
        return 1 / (1 + torch.exp(-x))

    def derivative(self, x):
        s = self(x)
        return s * (1 - s)


class MyTanh:
    def __call__(self, x):
        return (torch.exp(x) - torch.exp(-x)) / (torch.exp(x) + torch.exp(-x))

    def derivative(self, x):
        return 1 - self(x) ** 2


class Network(nn.Module):
    def __init__(self, input_dim, output_dim, activation_name, num_layers=5):
        super(Network, self).__init__()
        self.layers = nn.ModuleList()
        self.input_dim = input_dim
        for _ in range(num_layers):
            self.layers.append(nn.Linear(100, 100))
        if activation_name == 'relu':
            self.activation = MyReLU()
        elif activation_name == 'sigmoid':
            self.activation = MySigmoid()
        elif activation_name == 'tanh':
            self.activation = MyTanh()
        self.input_layer = nn.Linear(input_dim, 100)
        self.output_layer = nn.Linear(100, output_dim)

    def forward(self, x):
        x = self.activation(self.input_layer(x))
        for layer in self.layers:
            x = self.activation(layer(x))
        return self.output_layer(x)


def analyze_gradients(model):
    gradients_by_layer = []
    for name, param in model.named_parameters():
        if param.grad is not None:
            layer_grads = param.grad.cpu().numpy()
            grad_mean = np.mean(np.abs(layer_grads))
            grad_std = np.std(layer_grads)
            gradients_by_layer.append({'layer': name, 'mean': grad_mean, 'std': grad_std})
    return gradients_by_layer


def get_data(batch_size=64):
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    train_dataset = datasets.MNIST(DATA, train=True, download=True, transform=transform)
    test_dataset = datasets.MNIST(DATA, train=False, transform=transform)
    train_loader = DataLoader(train_dataset, batch_size=batch_size, shuffle=True)
    test_loader = DataLoader(test_dataset, batch_size=batch_size, shuffle=False)
    return train_loader, test_loader


def plot_results(results):
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(15, 6))
    for activation in results:
        ax1.plot(results[activation]['acc_history'], label=f'{activation}')
    for activation in results:
        last_grads = results[activation]['grad_history'][-1]
        ax2.semilogy(last_grads, label=f'{activation}')
    plt.tight_layout()
    plt.show()


def experiment_gradient_vanishing(n_epochs=5):
    criterion = nn.CrossEntropyLoss()
    results = {activation: {'acc_history': [], 'grad_history': []} for activation in ['relu', 'sigmoid', 'tanh']}
    for activation in ['relu', 'sigmoid', 'tanh']:
        train_loader, _ = get_data()
        model = Network(input_dim=784, output_dim=10, activation_name=activation, num_layers=2).to(device)
        optimizer = optim.SGD(model.parameters(), lr=0.001)
        for epoch in range(n_epochs):
            model.train()
            total_loss = 0
            correct = 0
            total = 0
            for batch_idx, (data, target) in enumerate(train_loader):
                data, target = data.to(device), target.to(device)
                data = data.view(data.size(0), -1)
                optimizer.zero_grad()
                output = model(data)
                loss = criterion(output, target)
                loss.backward()
                if batch_idx % 1 == 0:
                    gradients = analyze_gradients(model)
                    results[activation]['grad_history'].append([g['mean'] for g in gradients])
                optimizer.step()
                pred = output.argmax(dim=1, keepdim=True)
                correct += pred.eq(target.view_as(pred)).sum().item()
                total += target.size(0)
                total_loss += loss.item()
            epoch_acc = 100. * correct / total
            results[activation]['acc_history'].append(epoch_acc)
            print(f'Activation: {activation}, Epoch: {epoch}, Accuracy: {epoch_acc:.2f}%')
    plot_results(results)
    return results


def experiment_relu_death(n_epochs=5):
    criterion = nn.CrossEntropyLoss()
    activation_counts = {'relu': [], 'tanh': []}
    for activation in ['relu', 'tanh']:
        model = Network(input_dim=784, output_dim=10, activation_name=activation, num_layers=2).to(device)
        optimizer = optim.SGD(model.parameters(), lr=0.001)
        for epoch in range(n_epochs):
            zero_activations = 0
            total_activations = 0
            train_loader, _ = get_data()
            for data, target in train_loader:
                data = data.to(device)
                target = target.to(device)
                data = data.view(data.size(0), -1)
                optimizer.zero_grad()
                x = model.input_layer(data)
                x = model.activation(x)
                for layer in model.layers:
                    x = layer(x)
                    activated = model.activation(x)
                    if activation in ['relu', 'tanh']:
                        zero_activations += torch.sum(activated == 0).item()
                        total_activations += activated.numel()
                output = model.output_layer(x)
                loss = criterion(output, target)
                loss.backward()
                optimizer.step()
            death_rate = zero_activations / total_activations
            print(f'Activation: {activation}, Epoch {epoch}: Death Rate: {death_rate:.2f}%')
            activation_counts[activation].append(death_rate)
    plt.figure(figsize=(10, 5))
    for activation, rates in activation_counts.items():
        plt.plot(rates, label=activation)
    plt.show()
    return activation_counts


def dropout_layer(X, dropout):
    assert 0 <= dropout <= 1
    device = X.device
    if dropout == 1:
        return torch.zeros_like(X, device=device)
    if dropout == 0:
        return X
    mask = (torch.rand(X.shape, device=device) > dropout).float()
    return mask * X / (1.0 - dropout)


class RegularizedNetworkScratch(nn.Module):
    def __init__(self, dropout_rate=0.0):
        super().__init__()
        self.dropout_rate = dropout_rate
        self.training = True
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.fc1 = nn.Linear(1600, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = torch.relu(self.conv1(x))
        x = torch.max_pool2d(x, 2)
        x = torch.relu(self.conv2(x))
        x = torch.max_pool2d(x, 2)
        x = torch.flatten(x, 1)
        if self.training:
            x = dropout_layer(x, self.dropout_rate)
        x = torch.relu(self.fc1(x))
        return self.fc2(x)


class RegularizedNetworkConcise(nn.Module):
    def __init__(self, dropout_rate=0.0):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout = nn.Dropout(dropout_rate) if dropout_rate > 0 else None
        self.fc1 = nn.Linear(1600, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = torch.relu(self.conv1(x))
        x = torch.max_pool2d(x, 2)
        x = torch.relu(self.conv2(x))
        x = torch.max_pool2d(x, 2)
        x = torch.flatten(x, 1)
        if self.dropout:
            x = self.dropout(x)
        x = torch.relu(self.fc1(x))
        return self.fc2(x)


def experiment_regularization(RegularizedNetwork, n_epochs=15):
    configs = {'No Regularization': {'dropout': 0.0}, 'Dropout': {'dropout': 0.3}}
    results = {name: {'train_acc': [], 'test_acc': []} for name in configs.keys()}
    for name, config in configs.items():
        print(f"\nTraining with {name}")
        model = RegularizedNetwork(dropout_rate=config['dropout']).to(device)
        optimizer = optim.SGD(model.parameters(), lr=0.5)
        criterion = nn.CrossEntropyLoss()
        train_loader, test_loader = get_data(batch_size=256)
        for epoch in range(n_epochs):
            model.train()
            train_correct = 0
            train_total = 0
            for data, target in train_loader:
                data, target = data.to(device), target.to(device)
                optimizer.zero_grad()
                output = model(data)
                loss = criterion(output, target)
                loss.backward()
                optimizer.step()
                pred = output.argmax(dim=1, keepdim=True)
                train_correct += pred.eq(target.view_as(pred)).sum().item()
                train_total += target.size(0)
            train_acc = 100. * train_correct / train_total
            model.eval()
            test_correct = 0
            test_total = 0
            with torch.no_grad():
                for data, target in test_loader:
                    data, target = data.to(device), target.to(device)
                    output = model(data)
                    pred = output.argmax(dim=1, keepdim=True)
                    test_correct += pred.eq(target.view_as(pred)).sum().item()
                    test_total += target.size(0)
            test_acc = 100. * test_correct / test_total
            results[name]['train_acc'].append(train_acc)
            results[name]['test_acc'].append(test_acc)
            print(f'Epoch {epoch}: Train Acc: {train_acc:.2f}%, Test Acc: {test_acc:.2f}%')
    plt.figure(figsize=(15, 5))
    plt.show()
    return results


def experiment_dropout(n_epochs=15):
    """Both dropout sections of the handout: from scratch, then nn.Dropout (the baseline trained twice)."""
    return (experiment_regularization(RegularizedNetworkScratch, n_epochs),
            experiment_regularization(RegularizedNetworkConcise, n_epochs))


EXPERIMENTS = {
    "gradient_vanishing": lambda mlp_epochs, cnn_epochs: experiment_gradient_vanishing(mlp_epochs),
    "relu_death": lambda mlp_epochs, cnn_epochs: experiment_relu_death(mlp_epochs),
    "dropout": lambda mlp_epochs, cnn_epochs: experiment_dropout(cnn_epochs),
}
