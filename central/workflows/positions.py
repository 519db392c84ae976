"""The positions (jabatan) the decree names, declared once: who may take which SOP step.

A *role* (``central.roles``) decides which pages a user may open; a *position* decides which SOP
steps the user may take. A user holds one or more positions (``central.cases.positions`` stores
them); a step names the positions that may take it. External parties (Kanwil, Ditjen, airlines,
NCB-Interpol ...) are positions no user holds: a step that waits on one is recorded by an office
position when the reply arrives, and its time is counted apart from the office's own.

``system`` is the software itself (the digital receptionist, the WhatsApp/SMS gateway, a gate):
steps it takes are completed by code, never by a person.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Unit = Literal[
    "pimpinan",  # the Head of Office
    "tpi",  # checkpoint division (Bidang TPI)
    "dokintalkim",  # travel documents and stay permits
    "inteldakim",  # intelligence and enforcement
    "tikkim",  # IT and communication
    "tata_usaha",  # administration and treasury
    "pusdata",  # the Data Centre application's access levels
    "external",
    "system",
]


@dataclass(frozen=True)
class PositionSpec:
    key: str
    title_id: str  # as the decree writes it
    title_en: str
    unit: Unit
    external: bool = False
    note: str = ""

    @property
    def assignable(self) -> bool:
        """Whether a user may hold it (external parties and the system may not)."""
        return not self.external and self.unit != "system"


POSITIONS: tuple[PositionSpec, ...] = (
    PositionSpec("kepala_kantor", "Kepala Kantor Imigrasi (Kakanim) / Pejabat yang ditunjuk", "Head of Office", "pimpinan",
                 note="also the designated official who endorses in the Head of Office's name"),
    PositionSpec("kabid_tpi", "Kepala Bidang Tempat Pemeriksaan Imigrasi (Kabid TPI)", "Head of Checkpoint Division", "tpi"),
    PositionSpec("kasi_pemeriksaan", "Kepala Seksi Pemeriksaan", "Head of Examination Section (on duty)", "tpi"),
    PositionSpec("kasi_unit_tpi", "Kepala Seksi Unit TPI", "Head of Checkpoint Unit Section (on duty)", "tpi"),
    PositionSpec("supervisor_tpi", "Pejabat Imigrasi yang ditunjuk / Supervisor / Asisten Supervisor",
                 "Designated immigration officer (shift supervisor)", "tpi"),
    PositionSpec("pengawas_autogate", "Pengawas Autogate yang ditunjuk", "Designated autogate supervisor", "tpi"),
    PositionSpec("petugas_tpi", "Petugas Konter / Petugas Pemeriksa / Petugas TPI", "Checkpoint counter officer", "tpi"),
    PositionSpec("kabid_dokintalkim", "Kepala Bidang Dokumen Perjalanan dan Izin Tinggal Keimigrasian",
                 "Head of Travel Document and Stay Permit Division", "dokintalkim"),
    PositionSpec("kasi_dokjal", "Kepala Seksi / Kepala Subseksi Dokumen Perjalanan", "Head of Travel Document Section",
                 "dokintalkim"),
    PositionSpec("petugas_dokjal", "Petugas Dokumen Perjalanan (pendaftaran, verifikasi, wawancara, alokasi, "
                 "pencetakan, penyerahan)", "Travel document officer", "dokintalkim"),
    PositionSpec("kasi_intalkim", "Kepala Seksi Izin Tinggal Keimigrasian (pejabat berwenang)",
                 "Head of Stay Permit Section (authorised official)", "dokintalkim"),
    PositionSpec("petugas_intalkim", "Petugas Izin Tinggal (Loket / Entri, Doklanintalkim)", "Stay permit officer",
                 "dokintalkim"),
    PositionSpec("kabid_inteldakim", "Kepala Bidang Intelijen dan Penindakan Keimigrasian",
                 "Head of Intelligence and Enforcement Division", "inteldakim"),
    PositionSpec("kasi_penindakan", "Kepala Seksi / Kepala Subseksi Penindakan", "Head of Enforcement Section",
                 "inteldakim"),
    PositionSpec("kasi_intel", "Kepala Seksi / Kepala Subseksi Intelijen Keimigrasian", "Head of Intelligence Section",
                 "inteldakim"),
    PositionSpec("petugas_inteldakim", "Jabatan Pelaksana / Fungsional Tertentu Inteldakim (Wasdakim)",
                 "Intelligence and enforcement officer", "inteldakim"),
    PositionSpec("kabid_tikkim", "Kepala Bidang Teknologi Informasi dan Komunikasi Keimigrasian (Kabid Tikkim)",
                 "Head of IT and Communication Division", "tikkim"),
    PositionSpec("kasi_tik", "Kepala Seksi Teknologi dan Informasi Keimigrasian (Pejabat Eselon IV)",
                 "Head of IT Section", "tikkim"),
    PositionSpec("kasi_ikom", "Kepala Seksi Informasi dan Komunikasi (Kasi Ikom)",
                 "Head of Information and Communication Section", "tikkim"),
    PositionSpec("petugas_tik", "Tim IT / Jabatan Fungsional Tertentu (JFT) TIK", "IT officer", "tikkim"),
    PositionSpec("customer_service", "Petugas Customer Service / Pengaduan Masyarakat / Operator",
                 "Customer service officer", "tikkim"),
    PositionSpec("tata_usaha", "Petugas Tata Usaha", "Administration officer", "tata_usaha"),
    PositionSpec("bendahara", "Bendahara Penerimaan (SIMPONI)", "Treasurer", "tata_usaha"),
    PositionSpec("pusdata_admin", "Pusdata: Admin", "Data Centre administrator", "pusdata"),
    PositionSpec("pusdata_petugas", "Pusdata: Petugas", "Data Centre officer", "pusdata"),
    PositionSpec("pusdata_laporan", "Pusdata: Laporan", "Data Centre report user", "pusdata"),
    # Outside the office: steps that wait on them are recorded by an office position.
    PositionSpec("applicant", "Pemohon / Masyarakat", "Applicant or member of the public", "external", external=True),
    PositionSpec("kanwil", "Kepala Kantor Wilayah / Divisi Keimigrasian", "Regional Office (Immigration Division)",
                 "external", external=True),
    PositionSpec("ditjen", "Direktorat Jenderal Imigrasi", "Directorate General of Immigration", "external",
                 external=True),
    PositionSpec("airline", "Maskapai / Penanggung Jawab Alat Angkut", "Airline (carrier)", "external", external=True),
    PositionSpec("ncb_interpol", "NCB-Interpol Indonesia", "Interpol National Central Bureau", "external",
                 external=True),
    PositionSpec("polda", "Kepolisian Daerah (Polda)", "Regional police", "external", external=True),
    PositionSpec("requesting_agency", "Instansi Pengusul / Pihak Berkepentingan", "Requesting agency", "external",
                 external=True),
    PositionSpec("pos_bank", "PT Pos Indonesia / Bank Persepsi", "Post office or receiving bank", "external",
                 external=True),
    PositionSpec("vendor", "Vendor / Pihak Ketiga", "Vendor (third party)", "external", external=True),
    PositionSpec("dit_sistik", "Tim IT Direktorat Sistik", "Directorate of Immigration IT", "external", external=True),
    PositionSpec("system", "Sistem", "The software (gateway, receptionist, gate)", "system"),
)

BY_KEY: dict[str, PositionSpec] = {p.key: p for p in POSITIONS}
ASSIGNABLE: tuple[str, ...] = tuple(p.key for p in POSITIONS if p.assignable)
EXTERNAL: frozenset[str] = frozenset(p.key for p in POSITIONS if p.external)
SYSTEM = "system"

# Positions a new account starts with, from its application role, so that a counter officer or a
# gate supervisor can work the checkpoint cases on day one. Back-office, IT and leadership
# positions are never implied: an administrator assigns them (``autogate central positions``).
ROLE_DEFAULTS: dict[str, tuple[str, ...]] = {
    "supervisor": ("supervisor_tpi", "pengawas_autogate"),
    "officer": ("petugas_tpi",),
    "cctv_operator": ("petugas_tpi",),
    "report_only": ("pusdata_laporan",),
    "backoffice": (),
    "admin": (),
}


def spec(key: str) -> PositionSpec:
    try:
        return BY_KEY[key]
    except KeyError:
        raise KeyError(f"unknown position {key!r}") from None


def title(key: str, language: str = "en") -> str:
    position = BY_KEY.get(key)
    if position is None:
        return key
    return position.title_id if language == "id" else position.title_en
