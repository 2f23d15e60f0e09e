# Build Tandem's Windows installer. In PowerShell, from the repository root, with Python
# 3.11+, Visual Studio Build Tools (C++), and Inno Setup 6 (iscc on PATH):
#
#   powershell -ExecutionPolicy Bypass -File packaging\windows\build.ps1            # CPU
#   powershell -ExecutionPolicy Bypass -File packaging\windows\build.ps1 -Gpu cuda  # or vulkan
#
# Same spec and version source as Linux: packaging\tandem.spec and pyproject.toml.
param([ValidateSet("", "cuda", "vulkan")][string]$Gpu = "")
$ErrorActionPreference = "Stop"

$version = python -c "import tomllib; print(tomllib.load(open('pyproject.toml', 'rb'))['project']['version'])"
$model = python -c "import tomllib; c = tomllib.load(open('models/catalog.toml', 'rb')); print(next(m['file'] for m in c['model'] if m['id'] == c['default']['id']))"

if (-not (Test-Path .venv)) { python -m venv .venv }
.venv\Scripts\python -m pip install --upgrade pip
# llama-cpp-python compiles llama.cpp here; CMAKE_ARGS picks the GPU backend.
$env:CMAKE_ARGS = @{ "" = ""; "cuda" = "-DGGML_CUDA=on"; "vulkan" = "-DGGML_VULKAN=on" }[$Gpu]
if ($Gpu) { .venv\Scripts\python -m pip install --force-reinstall --no-deps --no-cache-dir "llama-cpp-python==0.3.36" }
.venv\Scripts\python -m pip install -e ".[package]"

$env:TANDEM_HOME = "$PWD\.test-home"
.venv\Scripts\tandem-cli models fetch-default
$env:TANDEM_BUNDLE_MODEL = "$PWD\.test-home\data\models\$model"
.venv\Scripts\pyinstaller --noconfirm --distpath dist --workpath build\pyinstaller packaging\tandem.spec

# The console executable prints the self-test report (tandem.exe has no console).
Remove-Item Env:TANDEM_HOME
dist\tandem\tandem-cli.exe --self-test
if ($LASTEXITCODE -ne 0) { throw "the frozen app's self-test failed" }

$backend = if ($Gpu) { $Gpu } else { "cpu" }
iscc /DAppVersion=$version /DBackend=$backend packaging\windows\tandem.iss
Get-ChildItem dist\Tandem-*-setup.exe | ForEach-Object { "{0}  {1:N1} MB" -f $_.Name, ($_.Length / 1MB) }
