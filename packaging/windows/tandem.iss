; Tandem's Windows installer (Inno Setup 6). It packs the PyInstaller folder dist\tandem
; that packaging\tandem.spec builds, the same spec as the Linux .deb. Build it with
; packaging\windows\build.ps1, which passes the version from pyproject.toml:
;
;   iscc /DAppVersion=0.1.0 packaging\windows\tandem.iss
;
; The installer goes to dist\Tandem-VERSION-windows-x64-setup.exe. It installs for the
; current user (no admin prompt) unless the person picks "all users".

#ifndef AppVersion
  #error Pass the version from pyproject.toml: iscc /DAppVersion=X.Y.Z tandem.iss
#endif
#ifndef Backend
  #define Backend "cpu"
#endif

[Setup]
AppId={{6C1F7E2A-5B1D-4C8E-9E47-2F3A8D9B4F01}
AppName=Tandem
AppVersion={#AppVersion}
AppVerName=Tandem {#AppVersion}
AppPublisher=Tandem
DefaultDirName={autopf}\Tandem
DefaultGroupName=Tandem
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
SetupIconFile=tandem.ico
UninstallDisplayIcon={app}\tandem.exe
InfoBeforeFile=..\THIRD-PARTY-NOTICES.txt
OutputDir=..\..\dist
#if Backend == "cpu"
OutputBaseFilename=Tandem-{#AppVersion}-windows-x64-setup
#else
OutputBaseFilename=Tandem-{#AppVersion}-windows-x64-{#Backend}-setup
#endif
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "..\..\dist\tandem\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\Tandem"; Filename: "{app}\tandem.exe"
Name: "{autodesktop}\Tandem"; Filename: "{app}\tandem.exe"; Tasks: desktopicon

[Run]
Filename: "{app}\tandem.exe"; Description: "{cm:LaunchProgram,Tandem}"; Flags: nowait postinstall skipifsilent
