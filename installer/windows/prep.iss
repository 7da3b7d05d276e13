; PREP: installer of the station programs (catd, ccv) for Windows 10/11 x64, Inno Setup 6.
;
; Not built by CI (docs/instalacion.md, "Windows"). On a Windows build machine:
;   py -m pip install -e .[test] pywin32
;   py installer\build.py --out build\installer          (bundle + manifest; no .deb)
;   iscc /DAppVersion=0.1.0 /DBundle=..\..\build\installer\dist\prep installer\windows\prep.iss
; AppVersion must be the version in pyproject.toml (build.py prints it).
;
; The bundle is installed exactly as built, build-manifest.sha256 included, so the
; programs report the audited fingerprint; nothing is written into {app} afterwards.
; Ticket printers go through the Windows spooler: the printer chosen here is passed
; as --impresora "windows:NAME" in the CATD shortcut (prep/station/printing).

#ifndef AppVersion
  #error Pass /DAppVersion=X.Y.Z (the version in pyproject.toml)
#endif
#ifndef Bundle
  #define Bundle "..\..\build\installer\dist\prep"
#endif

[Setup]
AppId={{6F1C2A57-2D0B-4E3B-9C7E-5B0D1F2A8E41}
AppName=PREP estaciones (CATD y CCV)
AppVersion={#AppVersion}
AppPublisher=PREP
DefaultDirName={autopf}\PREP
DefaultGroupName=PREP
DisableProgramGroupPage=yes
OutputBaseFilename=prep-estaciones-{#AppVersion}
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
PrivilegesRequired=admin
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
UninstallDisplayIcon={app}\catd.exe

[Languages]
Name: "es"; MessagesFile: "compiler:Languages\Spanish.isl"

[Files]
; The whole bundle: prep.exe, its copies catd.exe and ccv.exe, _internal\ and the manifest.
Source: "{#Bundle}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\PREP CATD"; Filename: "{app}\catd.exe"; Parameters: "{code:PrinterParameter}"; Comment: "Estación del centro de acopio"
Name: "{group}\PREP CCV"; Filename: "{app}\ccv.exe"; Comment: "Estación del Centro de Captura y Verificación"
Name: "{group}\Autoprueba PREP CATD"; Filename: "{cmd}"; Parameters: "/k ""{app}\catd.exe"" --self-test"

[Code]
var
  PrinterPage: TInputQueryWizardPage;

procedure InitializeWizard;
begin
  PrinterPage := CreateInputQueryPage(wpSelectDir,
    'Impresora de etiquetas de acopio',
    'Nombre de la impresora en Windows',
    'Escriba el nombre de la impresora de etiquetas tal como aparece en ' +
    '«Impresoras y escáneres» (las etiquetas se envían por la cola de impresión de ' +
    'Windows). Déjelo vacío si este equipo no imprime etiquetas (CCV).');
  PrinterPage.Add('Impresora:', False);
end;

function NextButtonClick(CurPageID: Integer): Boolean;
begin
  Result := True;
  if (CurPageID = PrinterPage.ID) and (Pos('"', PrinterPage.Values[0]) > 0) then
  begin
    MsgBox('El nombre de la impresora no puede llevar comillas.', mbError, MB_OK);
    Result := False;
  end;
end;

function PrinterParameter(Param: String): String;
begin
  if Trim(PrinterPage.Values[0]) = '' then
    Result := ''
  else
    Result := '--impresora "windows:' + Trim(PrinterPage.Values[0]) + '"';
end;

procedure CurStepChanged(CurStep: TSetupStep);
var
  ResultCode: Integer;
begin
  if CurStep = ssPostInstall then
  begin
    { The self-test: Qt, the store in a temporary folder, zxing-cpp, reportlab,
      python-escpos, and the fingerprint against the manifest. }
    if not Exec(ExpandConstant('{app}\catd.exe'), '--self-test', '', SW_HIDE,
                ewWaitUntilTerminated, ResultCode) or (ResultCode <> 0) then
      MsgBox('La autoprueba de PREP CATD falló (código ' + IntToStr(ResultCode) + '). ' +
             'Ejecute «Autoprueba PREP CATD» del menú Inicio y avise al coordinador.',
             mbError, MB_OK);
  end;
end;
