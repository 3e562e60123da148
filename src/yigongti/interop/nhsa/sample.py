"""A data folder's claims written as the platform's settlement records (导出为医保结算记录): the demo county as a
county insurance bureau receives it.

:func:`write_nhsa_folder` gives every institution a platform code (``institutions.nhsa_code``: H, the county's
division code, a five-digit serial) and every person a person number (``persons.psn_no``), writes the claims as
``nhsa/setlinfo.csv`` (2207 outpatient and 2304 inpatient settlements, Chinese column labels, GB18030 like a
Windows export) with a few settlements cancelled and settled again (2208, 2305), the settlement lists of the
inpatient claims as ``nhsa/setl_list.jsonl`` (4101 messages: admission and discharge routes, the referrals'
receiving institutions, the main diagnosis, operations; the inpatient records carry no diag_code of their own), and
removes ``claims.csv``: the claims come back with ``yigongti nhsa import``. The platform's fund payment is an
illustration (50% of the covered cost outpatient, 70% inpatient), not the county's rules. Claims are converted
part by part (bounded memory).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from yigongti.core.problems import InvalidInput
from yigongti.datafolder.folder import find_table_file, iter_table_parts, parse_table, read_raw_table, write_table
from yigongti.datafolder.schema import CLAIMS, INSTITUTIONS, PERSONS
from yigongti.interop.nhsa.domain import FIELD_BY_NAME

__all__ = ["CANCEL_EVERY", "RECORD_FIELDS", "SAMPLE_ENCODING", "SAMPLE_FILE", "SAMPLE_LIST_FILE", "list_messages",
           "person_columns", "referral_targets", "settlement_table", "write_nhsa_folder"]

SAMPLE_FILE = Path("nhsa") / "setlinfo.csv"
SAMPLE_LIST_FILE = Path("nhsa") / "setl_list.jsonl"  # the settlement lists (4101) of the inpatient claims
SAMPLE_ENCODING = "gb18030"
CANCEL_EVERY = 499  # every this many claims, one was first settled wrongly, cancelled and settled again
RECORD_FIELDS = ("infno", "mdtrt_id", "setl_id", "psn_no", "psn_name", "psn_cert_type", "certno", "gend", "brdy",
                 "insutype", "psn_type", "setl_time", "med_type", "medfee_sumamt", "fulamt_ownpay_amt",
                 "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt", "act_pay_dedc", "hifp_pay", "pool_prop_selfpay",
                 "hifmi_pay", "maf_pay", "fund_pay_sumamt", "acct_pay", "psn_cash_pay", "fixmedins_code",
                 "fixmedins_name", "insuplc_admdvs", "begndate", "enddate", "diag_code")
_CHRONIC = ("I10", "I11", "E11", "E14", "J44", "I63", "I25")  # 门诊慢特病 in the demo's vocabulary


def _yuan(fen: np.ndarray) -> pa.Array:
    f = np.asarray(fen, dtype=np.int64)
    whole = pa.array(f // 100).cast(pa.string())
    cents = pc.utf8_lpad(pa.array(f % 100).cast(pa.string()), width=2, padding="0")
    return pc.binary_join_element_wise(whole, cents, ".")


def _text(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    return pc.fill_null(pc.cast(arr, pa.string()), "")


def _institution_codes(folder: Path) -> tuple[dict[str, tuple[str, str]], pa.Table]:
    path = find_table_file(folder, "institutions")
    assert path is not None
    inst, problems = parse_table(INSTITUTIONS, read_raw_table(path), file=path.name)
    if any(not p.warning for p in problems):
        raise InvalidInput(problems)
    serial: dict[str, int] = {}
    codes: list[str] = []
    for cc in inst.column("county_code").to_pylist():
        serial[cc] = serial.get(cc, 0) + 1
        codes.append(f"H{cc}{serial[cc]:05d}")
    raw = read_raw_table(path)
    if "nhsa_code" in raw.column_names:
        raw = raw.drop_columns(["nhsa_code"])
    raw = raw.append_column("nhsa_code", pa.array(codes, pa.string()))
    names = inst.column("name").to_pylist()
    by_id = {i: (c, n) for i, c, n in zip(inst.column("inst_id").to_pylist(), codes, names, strict=True)}
    return by_id, raw


def _person_numbers(person_ids: list[str], county_codes: list[str]) -> list[str]:
    out = []
    for pid, cc in zip(person_ids, county_codes, strict=True):
        serial = "".join(ch for ch in pid.rsplit("-", 1)[-1] if ch.isdigit()) or "0"
        out.append(f"{cc}2{serial:0>19}")
    return out


def write_nhsa_folder(folder: Path | str, *, encoding: str = SAMPLE_ENCODING) -> int:
    """Turn a data folder's claims into the platform's settlement records (see the module); the number of records."""
    folder = Path(folder)
    insts, inst_raw = _institution_codes(folder)
    persons_path = find_table_file(folder, "persons")
    claims_path = find_table_file(folder, "claims")
    if persons_path is None or claims_path is None:
        raise FileNotFoundError(f"{folder}: persons and claims are needed / 需要参保人与结算清单")
    praw = read_raw_table(persons_path)
    persons, problems = parse_table(PERSONS, praw, file=persons_path.name)
    if any(not p.warning for p in problems):
        raise InvalidInput(problems)
    psn_no = _person_numbers(persons.column("person_id").to_pylist(), persons.column("county_code").to_pylist())
    if "psn_no" in praw.column_names:
        praw = praw.drop_columns(["psn_no"])
    person_keys, p_cols = person_columns(persons, pa.array(psn_no, pa.string()))
    refer_to = referral_targets(claims_path)
    out = folder / SAMPLE_FILE
    lists = folder / SAMPLE_LIST_FILE
    list_tmp = lists.with_name(f".{lists.name}.tmp")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    records = 0
    first = True
    with tmp.open("wb") as f, list_tmp.open("w", encoding="utf-8") as lf:
        for _part, raw in iter_table_parts(claims_path):
            claims, problems = parse_table(CLAIMS, raw, file=claims_path.name)
            if any(not p.warning for p in problems):
                raise InvalidInput(problems)
            table = _records(claims, person_keys, p_cols, insts, records)
            buf = io.BytesIO()
            header = [FIELD_BY_NAME[n].label for n in RECORD_FIELDS]
            pacsv.write_csv(table.rename_columns(header), buf,
                            write_options=pacsv.WriteOptions(include_header=first, quoting_style="needed"))
            f.write(buf.getvalue().decode("utf-8").encode(encoding))
            first = False
            records += table.num_rows
            for line in list_messages(claims, person_keys, p_cols["psn_no"], insts, refer_to):
                lf.write(line + "\n")
    tmp.replace(out)
    list_tmp.replace(lists)
    write_table(inst_raw, folder, "institutions")
    write_table(praw.append_column("psn_no", pa.array(psn_no, pa.string())), folder, "persons")
    claims_path.unlink()
    return records


def _records(claims: pa.Table, person_keys: pa.Array, p_cols: dict[str, pa.Array],
             insts: dict[str, tuple[str, str]], offset: int) -> pa.Table:
    n = claims.num_rows
    inpatient = pc.equal(claims.column("setting"), "inpatient").to_numpy(zero_copy_only=False)
    total = claims.column("total_cost").to_numpy().astype(np.int64)
    covered = claims.column("covered_cost").to_numpy().astype(np.int64)
    fund = covered * np.where(inpatient, 7, 5) // 10
    at = pc.index_in(claims.column("person_id"), value_set=person_keys)
    employee = pc.equal(p_cols["insutype"].take(at), "310").to_numpy(zero_copy_only=False)
    acct = np.where(employee & ~inpatient, (total - fund) // 3, 0)
    cash = total - fund - acct
    main = settlement_table(claims, person_keys, p_cols, insts, fund=fund, acct=acct, cash=cash,
                            deductible=np.zeros(n, dtype=np.int64),
                            ratio=pa.array(np.where(inpatient, "0.70", "0.50"), pa.string()))
    redo = np.flatnonzero((offset + np.arange(n)) % CANCEL_EVERY == 0)
    if not len(redo):
        return main
    wrong = main.take(pa.array(redo))
    wrong = wrong.set_column(RECORD_FIELDS.index("setl_id"), "setl_id",
                             pc.binary_join_element_wise(wrong.column("setl_id"), pa.scalar("R"), ""))
    for name, fen in (("medfee_sumamt", total[redo] + 100), ("psn_cash_pay", cash[redo] + 100)):
        wrong = wrong.set_column(RECORD_FIELDS.index(name), name, _yuan(fen))
    empty = pa.array([""] * len(redo), pa.string())
    keep = ("mdtrt_id", "setl_id", "psn_no")
    cancel = pa.table([wrong.column(name) if name in keep else empty for name in RECORD_FIELDS],
                      names=list(RECORD_FIELDS))
    cancel = cancel.set_column(0, "infno", pc.if_else(pc.equal(wrong.column("infno"), "2304"), "2305", "2208"))
    return pa.concat_tables([wrong, cancel, main])


def person_columns(persons: pa.Table, psn_no: pa.Array) -> tuple[pa.Array, dict[str, pa.Array]]:
    """A contract ``persons`` table (parsed) as the platform's person fields, by person_id: ``(person_ids, fields)``
    (psn_no, certno, gend, brdy, insutype, psn_type, insuplc_admdvs), the codes from the contract's values."""
    employee = pc.equal(persons.column("insurance"), "employee")
    return persons.column("person_id").combine_chunks(), {
        "psn_no": psn_no, "certno": _text(persons.column("id_number")),
        "gend": pc.if_else(pc.equal(persons.column("sex"), "M"), "1", "2").combine_chunks(),
        "brdy": _text(persons.column("birth_date")),
        "insutype": pc.if_else(employee, "310", "390").combine_chunks(),
        "psn_type": pc.if_else(employee, "11", "14").combine_chunks(),
        "insuplc_admdvs": _text(persons.column("county_code"))}


def referral_targets(claims_path: Path) -> dict[str, str]:
    """A claims (or adjudicated) file's referrals: referral_from -> the institution of the referred claim, over
    every part (a referral is a few in a hundred claims, so this stays small)."""
    out: dict[str, str] = {}
    for _part, raw in iter_table_parts(claims_path):
        if "referral_from" not in raw.column_names:
            continue
        ref = _text(raw.column("referral_from"))
        has = pc.not_equal(ref, "")
        for a, inst in zip(pc.filter(ref, has).to_pylist(), pc.filter(_text(raw.column("inst_id")), has).to_pylist(),
                           strict=True):
            out[a] = inst
    return out


def list_messages(claims: pa.Table, person_keys: pa.Array, psn_no: pa.Array, insts: dict[str, tuple[str, str]],
                  refer_to: dict[str, str]) -> list[str]:
    """The settlement lists (4101) of the inpatient claims as JSON lines, one message a line: ``setlinfo`` (the
    admission route: 3 transferred when the claim has referral_from, 1 emergency, 2 clinic; the discharge route:
    2 transferred with the receiving institution's code when a later claim names this one, else 1), ``diseinfo``
    (the main diagnosis, western, maindiag_flag 1) and ``oprninfo`` (an appendectomy for appendicitis)."""
    inpatient = pc.equal(claims.column("setting"), "inpatient")
    t = claims.filter(inpatient)
    at = pc.index_in(t.column("person_id"), value_set=person_keys)
    psn = psn_no.take(at).to_pylist()
    ref = _text(t.column("referral_from")).to_pylist() if "referral_from" in t.column_names else [""] * t.num_rows
    out: list[str] = []
    for i, (sid, inst, emergency, admit, discharge, diag) in enumerate(zip(
            *(t.column(c).to_pylist() for c in ("claim_id", "inst_id", "emergency", "admit_date", "discharge_date",
                                                "diagnosis")), strict=True)):
        receiver = refer_to.get(sid)
        setlinfo = {"setl_id": sid, "mdtrt_id": "MD" + "".join(ch for ch in sid if ch.isdigit()), "psn_no": psn[i],
                    "fixmedins_code": insts[inst][0], "adm_way": "3" if ref[i] else ("1" if emergency else "2"),
                    "adm_time": f"{admit} 09:00:00", "dscg_time": f"{discharge} 10:00:00",
                    "dscg_way": "2" if receiver else "1",
                    "acp_optins_code": insts[receiver][0] if receiver else "",
                    "acp_optins_name": insts[receiver][1] if receiver else ""}
        msg: dict[str, object] = {"infno": "4101", "input": {
            "setlinfo": setlinfo,
            "diseinfo": [{"diag_type": "1", "maindiag_flag": "1", "diag_code": diag or "", "adm_cond_type": "1"}]
            if diag else [],
            "oprninfo": [{"main_oprn_flag": "1", "oprn_oprt_code": "47.09", "oprn_oprt_name": "阑尾切除术",
                          "oprn_oprt_date": str(admit)}] if (diag or "").startswith("K35") else []}}
        out.append(json.dumps(msg, ensure_ascii=False, separators=(",", ":")))
    return out


def settlement_table(claims: pa.Table, person_keys: pa.Array, p_cols: dict[str, pa.Array],
                     insts: dict[str, tuple[str, str]], *, fund: np.ndarray, acct: np.ndarray, cash: np.ndarray,
                     deductible: np.ndarray, ratio: pa.Array) -> pa.Table:
    """Contract claims (parsed, money in fen) as settlement records (:data:`RECORD_FIELDS`, text): 2207 outpatient
    or 2304 inpatient; med_type from setting, emergency and diagnosis (24/21 inpatient, 13 emergency, 14 a chronic
    disease, else 11); the payments as given (fen): fund_pay_sumamt and hifp_pay, acct_pay, psn_cash_pay,
    act_pay_dedc; an inpatient record's diagnosis goes in its settlement list (:func:`list_messages`)."""
    n = claims.num_rows
    at = pc.index_in(claims.column("person_id"), value_set=person_keys)
    person = {k: v.take(at) for k, v in p_cols.items()}
    inpatient = pc.equal(claims.column("setting"), "inpatient").to_numpy(zero_copy_only=False)
    emergency = claims.column("emergency").to_numpy(zero_copy_only=False).astype(bool)
    diagnosis = _text(claims.column("diagnosis"))
    chronic = pc.match_substring_regex(diagnosis, "^(" + "|".join(_CHRONIC) + ")").to_numpy(zero_copy_only=False)
    med_type = np.where(inpatient, np.where(emergency, "24", "21"),
                        np.where(emergency, "13", np.where(chronic, "14", "11")))
    total = claims.column("total_cost").to_numpy().astype(np.int64)
    covered = claims.column("covered_cost").to_numpy().astype(np.int64)
    zero = _yuan(np.zeros(n, dtype=np.int64))
    inst_ids = claims.column("inst_id").to_pylist()
    admit = _text(claims.column("admit_date"))
    discharge = pc.if_else(pc.is_null(claims.column("discharge_date")), admit,
                           _text(claims.column("discharge_date")))
    setl = claims.column("claim_id").combine_chunks()
    digits = pc.replace_substring_regex(setl, "[^0-9]", "")
    cols: dict[str, pa.Array] = {
        "infno": pa.array(np.where(inpatient, "2304", "2207"), pa.string()),
        "mdtrt_id": pc.binary_join_element_wise(pa.scalar("MD"), digits, ""),
        "setl_id": setl,
        "psn_no": person["psn_no"], "psn_name": pa.array([""] * n, pa.string()),
        "psn_cert_type": pa.array(["01"] * n, pa.string()), "certno": person["certno"], "gend": person["gend"],
        "brdy": person["brdy"], "insutype": person["insutype"], "psn_type": person["psn_type"],
        "setl_time": pc.binary_join_element_wise(discharge, pa.scalar("16:00:00"), " "),
        "med_type": pa.array(med_type, pa.string()),
        "medfee_sumamt": _yuan(total), "fulamt_ownpay_amt": _yuan(total - covered), "overlmt_selfpay": zero,
        "preselfpay_amt": zero, "inscp_scp_amt": _yuan(covered), "act_pay_dedc": _yuan(deductible),
        "hifp_pay": _yuan(fund), "pool_prop_selfpay": ratio, "hifmi_pay": zero, "maf_pay": zero,
        "fund_pay_sumamt": _yuan(fund), "acct_pay": _yuan(acct), "psn_cash_pay": _yuan(cash),
        "fixmedins_code": pa.array([insts[i][0] for i in inst_ids], pa.string()),
        "fixmedins_name": pa.array([insts[i][1] for i in inst_ids], pa.string()),
        "insuplc_admdvs": person["insuplc_admdvs"], "begndate": admit, "enddate": discharge,
        "diag_code": pc.if_else(pa.array(inpatient), "", diagnosis),  # inpatient: from the settlement list
    }
    return pa.table([cols[name] for name in RECORD_FIELDS], names=list(RECORD_FIELDS))
