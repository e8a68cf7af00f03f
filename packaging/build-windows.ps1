# Build the Windows bundle: dist\longwriter-desktop\ (a folder with longwriter-desktop.exe), run its
# self-test, and pack it as dist\LongWriter-Desktop-VERSION-windows-x64.zip.
#
# Run from any folder:  powershell -ExecutionPolicy Bypass -File packaging\build-windows.ps1
# Uses the Python environment in $env:PYTHON (default: .venv\Scripts\python.exe), which must have the
# app's dependencies and the built-in model; PyInstaller (the `package` extra) is added to it.
# For a GPU bundle, reinstall llama-cpp-python there with CMAKE_ARGS first (docs/install.md).
$ErrorActionPreference = "Stop"
Set-Location (Split-Path -Parent $PSScriptRoot)
$Python = if ($env:PYTHON) { $env:PYTHON } else { Join-Path (Get-Location) ".venv\Scripts\python.exe" }
if (-not (Test-Path $Python)) {
    Write-Error "No Python at ${Python}: create .venv with the app's dependencies, or set `$env:PYTHON"
}
function Step($text) { Write-Host ""; Write-Host "== $text" }
function Check($what) { if ($LASTEXITCODE -ne 0) { Write-Error "$what failed (exit code $LASTEXITCODE)" } }

$Bundle = "dist\longwriter-desktop"

Step "PyInstaller (build-only: the 'package' extra)"
& $Python -m pip install --quiet --disable-pip-version-check "pyinstaller>=6.10" "tomli>=2; python_version < '3.11'"
Check "pip install"
# Only single quotes inside: PowerShell 5 mangles double quotes passed to native programs.
$Version = (& $Python -c "import sys; t = __import__('tomllib' if sys.version_info >= (3, 11) else 'tomli'); print(t.load(open('pyproject.toml', 'rb'))['project']['version'])").Trim()
Check "reading the version"

Step "Bundle"
$watch = [Diagnostics.Stopwatch]::StartNew()
& $Python -m PyInstaller --noconfirm --clean --log-level WARN --distpath dist --workpath build\pyinstaller packaging\longwriter-desktop.spec
Check "PyInstaller"
Write-Host ("built in {0:N0} s" -f $watch.Elapsed.TotalSeconds)

Step "Self-test of the bundle"
# The .exe is a window program without a console: its self-test writes its report to a file in TEMP.
$report = Join-Path $env:TEMP "longwriter-desktop-self-test.txt"
Remove-Item $report -ErrorAction SilentlyContinue
$watch = [Diagnostics.Stopwatch]::StartNew()
$process = Start-Process -FilePath "$Bundle\longwriter-desktop.exe" -ArgumentList "--self-test" -Wait -PassThru
if (Test-Path $report) { Get-Content $report }
Write-Host ("self-test took {0:N0} s" -f $watch.Elapsed.TotalSeconds)
if ($process.ExitCode -ne 0) { Write-Error "The bundle's self-test failed (exit code $($process.ExitCode))" }

Step "Size"
$bytes = (Get-ChildItem $Bundle -Recurse -File | Measure-Object -Property Length -Sum).Sum
Write-Host ("{0}: {1:N0} MB" -f $Bundle, ($bytes / 1MB))
if ($env:SKIP_ARCHIVE -ne "1") {
    $archive = "dist\LongWriter-Desktop-$Version-windows-x64.zip"
    Remove-Item $archive -ErrorAction SilentlyContinue
    Compress-Archive -Path $Bundle -DestinationPath $archive
    Write-Host ("{0}: {1:N0} MB" -f $archive, ((Get-Item $archive).Length / 1MB))
}
