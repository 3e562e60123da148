"""Labels (标签): every code a person may see, with its Chinese and English label, written once here.

Pages, reports, Excel sheets and CSV headers look codes up here (``label("tier", "township", "zh")``) instead of
showing the code itself: a tier is 乡镇卫生院 on a page, never ``township``. The tables are keyed by the codes' string
values (the enums live in the capabilities above the kernel; ``tests/unit/test_labels.py`` checks that every member of
every enum shown has a label here). Numbers are formatted for zh-CN here too: thousands separators on counts and yuan.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

__all__ = [
    "LABELS",
    "UnknownLabelGroup",
    "format_count",
    "format_money",
    "format_number",
    "column_headers",
    "column_label",
    "label",
    "labelled",
]

Pair = tuple[str, str]

LABELS: Mapping[str, Mapping[str, Pair]] = {
    # registry.domain.Tier, and the head-count rows' "consortium"
    "tier": {
        "county": ("县级医院", "county hospital"),
        "township": ("乡镇卫生院/社区卫生服务中心", "township centre"),
        "village": ("村卫生室/社区卫生服务站", "village clinic"),
        "outside": ("医共体外医院", "hospital outside the consortia"),
        "consortium": ("医共体", "consortium"),
    },
    # datafolder.schema.KINDS
    "kind": {
        "general": ("综合医院", "general hospital"),
        "tcm": ("中医医院", "TCM hospital"),
        "mch": ("妇幼保健院", "maternal and child health hospital"),
        "cdc": ("疾病预防控制中心", "disease control centre"),
        "infectious": ("传染病医院", "infectious disease hospital"),
        "township_centre": ("乡镇卫生院", "township health centre"),
        "community_centre": ("社区卫生服务中心", "community health centre"),
        "village_clinic": ("村卫生室", "village clinic"),
        "community_station": ("社区卫生服务站", "community health station"),
        "private": ("民营医疗机构", "private institution"),
    },
    # simulator.domain.Payment
    "payment": {
        "global_budget": ("总额付费", "global budget"),
        "fee_for_service": ("按项目付费", "fee for service"),
    },
    # core.policy.GradeName
    "grade": {
        "excellent": ("优秀", "excellent"),
        "qualified": ("合格", "qualified"),
        "unqualified": ("不合格", "unqualified"),
        "pending": ("待定", "pending"),
    },
    # benefits.domain.Rule: the short name of the rule that decided a claim
    "rule": {
        "flat_copay": ("定额自付", "flat copay"),
        "outpatient": ("门诊按比例报销", "outpatient rate"),
        "inpatient": ("住院按比例报销", "inpatient rate"),
        "continuous_deductible": ("转诊住院起付线连续计算", "referral: deductible counted on"),
        "no_benefit": ("不予报销", "no benefit"),
        "emergency_as_outside": ("急诊按医共体外报销", "emergency paid as outside"),
        "unreasonable": ("不合理费用", "unreasonable charges"),
        "annual_cap": ("达到年度限额", "annual cap reached"),
        "two_disease": ("两病门诊用药保障", "two-disease outpatient drug benefit"),
    },
    # benefits.domain.NetworkStatus
    "network_status": {
        "designated": ("定点机构", "designated"),
        "in_consortium": ("定点医共体内", "in the designated consortium"),
        "other_consortium": ("非定点医共体", "another consortium"),
        "outside": ("医共体外医院", "outside every consortium"),
    },
    # benefits.domain.Setting
    "setting": {
        "outpatient": ("门诊", "outpatient"),
        "inpatient": ("住院", "inpatient"),
    },
    # appraisal.indicators.Unit
    "unit": {
        "%": ("%", "%"),
        "per_10k": ("每万人", "per 10,000"),
        "per_100k": ("每十万人", "per 100,000"),
        "yuan": ("元", "yuan"),
        "days": ("天", "days"),
        "ratio": ("比值", "ratio"),
        "count": ("个", "count"),
    },
    # appraisal.indicators.ScopeKind
    "scope_kind": {
        "county": ("全县", "county"),
        "consortium": ("医共体", "consortium"),
        "institution": ("成员单位", "member institution"),
    },
    # appraisal.indicators.Direction
    "direction": {
        "higher": ("越高越好", "higher is better"),
        "lower": ("越低越好", "lower is better"),
    },
    # persons.sex
    "sex": {
        "M": ("男", "male"),
        "F": ("女", "female"),
    },
    # core.policy.Insurance
    "insurance": {
        "resident": ("城乡居民医保", "residents' insurance"),
        "employee": ("职工医保", "employees' insurance"),
    },
    # enrollment.domain.Source
    "source": {
        "choice": ("本人或家人的选择", "a choice made by the person or for them"),
        "carried": ("上年定点延续", "last year's designation, carried over"),
        "household": ("随家庭成员的选择", "a household member's choice"),
        "nearest": ("按住址就近默认", "the default nearest to home"),
    },
    # the choices' status column
    "choice_status": {
        "valid": ("有效", "valid"),
        "refused": ("被拒", "refused"),
        "superseded": ("已被更晚的选择取代", "superseded"),
    },
    # budget.engine.Charge
    "charge": {
        "in_network": ("医共体内", "in-network"),
        "out_of_network": ("医共体外", "out-of-network"),
        "fund": ("基金按项目支付", "paid by the fund"),
        "unreasonable": ("不合理费用", "unreasonable"),
    },
    # core.policy.DISTRIBUTION_FORMS: how a distributed surplus is paid (001 四2(2))
    "distribution_form": {
        "cash": ("资金拨付", "cash"),
        "project": ("项目资助", "project"),
        "equipment": ("设备投入", "equipment"),
    },
    # budget.agreement.Action: what a version of a yearly budget agreement did
    "agreement_action": {
        "propose": ("提出预算（按测算公式）", "proposed (from the formula)"),
        "adjust": ("调整", "adjusted"),
        "comment": ("提出意见", "commented"),
        "accept": ("医共体确认接受", "accepted by the consortium"),
        "sign": ("医保局签订", "signed by the bureau"),
    },
    # budget.agreement.Status: where a yearly budget agreement stands
    "agreement_status": {
        "proposed": ("已提出，待协商", "proposed, under negotiation"),
        "adjusted": ("已调整，待医共体确认", "adjusted, awaiting the consortium"),
        "accepted": ("医共体已接受，待签订", "accepted, awaiting signature"),
        "signed": ("已签订", "signed"),
        "none": ("尚未提出", "not proposed yet"),
    },
    # platform.accounts.Role
    "role": {
        "resident": ("参保人", "resident"),
        "clinician": ("家庭医生", "clinician"),
        "institution_admin": ("机构管理员", "institution admin"),
        "consortium_admin": ("医共体管理中心", "consortium admin"),
        "insurance_bureau": ("医保局", "insurance bureau"),
        "health_commission": ("卫健局", "health commission"),
        "system_admin": ("系统管理员", "system admin"),
    },
    # workforce.domain.Title: professional titles (职称); for doctors 中级 is 主治医师
    "title": {
        "junior": ("初级（医师/住院医师）", "junior"),
        "intermediate": ("中级（主治医师）", "intermediate (attending)"),
        "associate_senior": ("副高级（副主任医师）", "associate senior"),
        "senior": ("正高级（主任医师）", "senior"),
    },
    # workforce.domain.Profession
    "profession": {
        "doctor": ("医师", "doctor"),
        "nurse": ("护士", "nurse"),
        "pharmacist": ("药师", "pharmacist"),
        "technician": ("技师", "technician"),
        "manager": ("管理人员", "manager"),
        "other": ("其他", "other"),
    },
    # public_health: the syndromes counted by fever clinics and sentinel sites (症状监测; codes of the policy)
    "syndrome": {
        "ili": ("流感样病例", "influenza-like illness"),
        "fever": ("发热", "fever"),
        "diarrhoea": ("腹泻", "diarrhoea"),
        "rash": ("发热伴出疹", "fever with rash"),
        "jaundice": ("黄疸", "jaundice"),
    },
    "site_kind": {"fever_clinic": ("发热门诊", "fever clinic"), "sentinel": ("监测哨点", "sentinel site")},
    "stock_flag": {"below_minimum": ("低于储备下限", "below minimum"), "expired": ("已过期", "expired"),
                   "expiring": ("近效期", "expiring soon")},
    "team_kind": {"epidemic": ("传染病防控", "epidemic response"), "rescue": ("紧急医学救援", "emergency rescue"),
                  "poisoning": ("中毒处置", "poisoning response")},
    "team_duty": {"leader": ("队长", "leader"), "deputy": ("副队长", "deputy"), "member": ("队员", "member")},
    "rx_status": {"written": ("待取药", "to dispense"), "dispensed": ("已发药", "dispensed"),
                  "cancelled": ("已作废", "cancelled")},
    "stock_move": {"receipt": ("入库", "receipt"), "issue": ("发药", "issue"), "dispatch": ("配送发出", "dispatched"),
                   "delivery": ("配送入库", "delivered")},
    # workforce.domain.StaffingRule
    "quality_measure": {"prescription_review": ("处方点评", "prescription review"),
                        "record_check": ("病历质控", "medical-record check")},
    "staffing_rule": {
        "attending": ("牵头医院主治以上医师常年派驻乡镇卫生院", "lead-hospital attending doctor at the township"),
        "city_experts": ("城市三级医院专家常年驻守医共体", "city tertiary-hospital experts in the consortium"),
    },
    # column headers of the downloads (CSV and Excel): "中文 code" keeps the machine name beside the label
    "column": {
        "inst_id": ("机构编码", "institution id"),
        "unit_id": ("单位编码", "unit id"),
        "name": ("名称", "name"),
        "tier": ("层级", "tier"),
        "level": ("等级", "level"),
        "kind": ("类别", "kind"),
        "consortium_id": ("医共体编码", "consortium id"),
        "parent_id": ("上级机构编码", "parent id"),
        "county_code": ("区县代码", "county code"),
        "lon": ("经度", "longitude"),
        "lat": ("纬度", "latitude"),
        "head_count": ("人头数", "head count"),
        "scope": ("考核对象", "scope"),
        "indicator": ("指标", "indicator"),
        "numerator": ("分子", "numerator"),
        "denominator": ("分母", "denominator"),
        "value": ("指标值", "value"),
        "year": ("年度", "year"),
        "scope_kind": ("范围", "scope kind"),
        "unit": ("单位", "unit"),
        "status": ("状态", "status"),
        "reason": ("原因", "reason"),
        # the settlement, its internal split and the monthly spending (budget)
        "enrollees": ("参保人数", "enrollees"),
        "standard_heads": ("标准人头", "standard heads"),
        "rate": ("人头费标准（元）", "rate (yuan)"),
        "gross_budget": ("总额预算（元）", "gross budget (yuan)"),
        "p4p_reserve": ("绩效预留（元）", "P4P reserve (yuan)"),
        "prospective_budget": ("预付预算（元）", "prospective budget (yuan)"),
        "in_network_spend": ("医共体内支出（元）", "in-network spending (yuan)"),
        "out_of_network_deductions": ("外转费用扣减（元）", "out-of-network deductions (yuan)"),
        "balance": ("结余（元）", "balance (yuan)"),
        "retained_surplus": ("结余留用（元）", "retained surplus (yuan)"),
        "fund_overspend_share": ("基金分担超支（元）", "overspend borne by the fund (yuan)"),
        "consortium_overspend": ("医共体承担超支（元）", "overspend borne by the consortium (yuan)"),
        "score": ("考核得分", "score"),
        "grade": ("考核等级", "grade"),
        "p4p_paid": ("绩效返还（元）", "P4P paid (yuan)"),
        "public_health_allocated": ("公共卫生经费（元）", "public health money (yuan)"),
        "public_health": ("公共卫生经费（元）", "public health money (yuan)"),
        "amount_to_share": ("可分配金额（元）", "amount to share (yuan)"),
        "budget_source": ("预算来源", "budget source"),
        "amount": ("金额（元）", "amount (yuan)"),
        "performance_pay_ceiling": ("绩效工资总量上限（元）", "performance pay ceiling (yuan)"),
        "month": ("月份", "month"),
        "in_network": ("医共体内（元）", "in-network (yuan)"),
        "out_of_network": ("医共体外（元）", "out-of-network (yuan)"),
        "prepayment": ("预付（元）", "prepayment (yuan)"),
        "fund_paid": ("基金支付（元）", "fund paid (yuan)"),
        "claims": ("单据数", "claims"),
        "rank": ("排名", "rank"),
        "diagnosis": ("诊断", "diagnosis"),
        "institution": ("机构", "institution"),
        # the dashboards' charts and tables (app.dashboard_pages)
        "prepaid": ("当月预付（元）", "prepaid in the month (yuan)"),
        "spent": ("支出（元）", "spent (yuan)"),
        "prepaid_to_date": ("累计预付（元）", "prepaid so far (yuan)"),
        "spent_to_date": ("累计支出（元）", "spent so far (yuan)"),
        "burn_rate": ("预算执行率（%）", "budget burn (%)"),
        "spent_previous": ("上年支出（元）", "last year's spending (yuan)"),
        "spent_to_date_previous": ("上年累计支出（元）", "last year's spending so far (yuan)"),
        "indicator_id": ("指标编号", "indicator id"),
        "target": ("目标", "target"),
        "previous": ("上年", "last year"),
        "points": ("得分", "points"),
        "weight": ("权重", "weight"),
        "budget": ("预算（元）", "budget (yuan)"),
        "head_count_previous": ("上年人头数", "last year's head count"),
        # infectious-disease report cards (public_health.pages)
        "cards": ("报告卡数", "cards"),
        "on_time": ("按时报告", "on time"),
        "late": ("迟报", "late"),
        "missed": ("漏报（超时未报）", "missed (overdue)"),
        "pending": ("待报告（未到期）", "pending (not yet due)"),
        "voided": ("已排除", "voided"),
        "timely_rate": ("及时报告率（%）", "timely rate (%)"),
        "card_id": ("报告卡编号", "card id"),
        "person_id": ("参保人编号", "person id"),
        "disease_code": ("病种代码", "disease code"),
        "disease": ("病种", "disease"),
        "disease_class": ("类别", "class"),
        "diagnosed_at": ("诊断时间", "diagnosed at"),
        "deadline": ("报告时限", "deadline"),
        "submitted_at": ("报告时间", "submitted at"),
        # food-borne clusters (public_health.pages)
        "cluster_id": ("聚集性病例编号", "cluster id"),
        "exposure_place": ("就餐地点", "place of eating"),
        "cases_in_scope": ("本辖区病例数", "cases in scope"),
        "institutions": ("诊断机构", "institutions"),
        "suspected_foods": ("可疑食品", "suspected foods"),
        "first_at": ("首例时间", "first case at"),
        "last_at": ("末例时间", "last case at"),
        "formed_at": ("形成时间", "formed at"),
        "state": ("状态", "state"),
        "submitted_by": ("报告人", "submitted by"),
        "cases_since_report": ("报告后新增病例", "cases since the report"),
        # the pharmacy (pharmacy.pages)
        "drug_code": ("医保药品编码", "drug code"),
        "generic_name": ("通用名", "generic name"),
        "form": ("剂型", "form"),
        "strength": ("规格", "strength"),
        "essential": ("基本药物", "essential medicine"),
        "on_hand": ("库存数量", "on hand"),
        "issued": ("近期发药量", "issued recently"),
        "days_left": ("预计可用天数", "days left"),
        "shortage_id": ("缺药登记编号", "shortage id"),
        "quantity": ("数量", "quantity"),
        "registered_at": ("登记时间", "registered at"),
        "from_inst_id": ("配送机构编码", "dispatched from"),
        "tracking": ("配送单号", "tracking"),
        "dispatched_at": ("发出时间", "dispatched at"),
        "delivered_at": ("送达时间", "delivered at"),
        # readiness (public_health.pages, workforce.pages) and prescriptions (pharmacy.pages)
        "site_kind": ("监测点类别", "site kind"),
        "syndrome": ("症状", "syndrome"),
        "week": ("周（周一）", "week (Monday)"),
        "cases": ("病例数", "cases"),
        "threshold": ("预警阈值", "threshold"),
        "threshold_basis": ("阈值依据", "threshold basis"),
        "warning": ("预警", "warning"),
        "item_code": ("物资编码", "item code"),
        "item_name": ("物资名称", "item"),
        "category": ("类别", "category"),
        "batch": ("批号", "batch"),
        "minimum": ("储备下限", "minimum"),
        "expires_on": ("有效期至", "expires on"),
        "flags": ("提示", "flags"),
        "team_id": ("队伍编号", "team id"),
        "team": ("队伍", "team"),
        "base_inst_id": ("驻地机构编码", "based at"),
        "staff_id": ("人员编码", "staff id"),
        "title": ("职称", "title"),
        "duty": ("职责", "duty"),
        "speciality": ("专业", "speciality"),
        # quality and training (workforce.pages)
        "quality_measure": ("质控项目", "quality measure"),
        "reviewed": ("点评/质控数", "reviewed"),
        "passed": ("合格数", "passed"),
        "mean": ("平均得分", "mean score"),
        "works_at_id": ("工作单位编码", "works at"),
        "profession": ("专业类别", "profession"),
        "sessions": ("培训次数", "sessions"),
        "hours": ("培训学时", "training hours"),
        "required_hours": ("要求学时", "required hours"),
        "met": ("是否达标", "met"),
        "period": ("抽样期间", "period"),
        "prescription_id": ("处方号", "prescription id"),
        "review_id": ("点评编号", "review id"),
        "income": ("年收入（元）", "income (yuan)"),
        "rx_id": ("处方编号", "prescription no."),
        "written_inst_id": ("开方机构编码", "written at"),
        "written_at": ("开方时间", "written at (time)"),
        "dispensed_inst_id": ("发药机构编码", "dispensed at"),
        "dispensed_at": ("发药时间", "dispensed at (time)"),
        "drugs": ("药品", "drugs"),
        "move_id": ("记录编号", "move id"),
        "at": ("时间", "at"),
        "actor": ("操作人", "by"),
        # the chronic-disease measures (care.engine) and the control-rate dashboard (care.pages)
        "registered": ("登记管理人数", "registered"),
        "under_management": ("纳入管理人数", "under management"),
        "standardized": ("规范管理人数", "standardized management"),
        "controlled": ("控制人数", "controlled"),
        # care gp_pay.csv (家庭医生薪酬)
        "gp_id": ("家庭医生编码", "GP id"),
        "gp_name": ("家庭医生", "GP"),
        "heads": ("签约人数", "contracted heads"),
        "quality_score": ("质量得分", "quality score"),
        "long_prescriptions": ("长处方数", "long prescriptions"),
        "base_pay": ("签约人头费（元）", "per-head pay (yuan)"),
        "quality_pay": ("质量绩效（元）", "quality pay (yuan)"),
        "rural_allowance": ("农村补贴（元）", "rural allowance (yuan)"),
        "total_pay": ("薪酬合计（元）", "total pay (yuan)"),
        "missed_visit": ("近3个月未随访人数", "missed visit (3 months)"),
        "lost": ("失访人数", "lost to follow-up"),
        "standardized_rate": ("规范管理率（%）", "standardized management rate (%)"),
        "control_rate": ("控制率（%）", "control rate (%)"),
        "missed_visit_rate": ("未随访率（%）", "missed-visit rate (%)"),
        "lost_rate": ("失访率（%）", "lost-to-follow-up rate (%)"),
        "township": ("乡镇卫生院", "township centre"),
        # the simulator's results.csv and consortia.csv (simulator.service, /simulator/runs/{run_id})
        "county": ("县", "county"),
        "scenario": ("情景", "scenario"),
        "payment": ("支付方式", "payment"),
        "replicate": ("重复序号", "replicate"),
        "fund_income": ("基金收入（元）", "fund income (yuan)"),
        "fund_outlay": ("基金支出（元）", "fund outlay (yuan)"),
        "fund_result": ("基金当年结余（元）", "fund result of the year (yuan)"),
        "fund_balance": ("基金累计结余（元）", "fund balance, cumulative (yuan)"),
        "in_county_admission_share": ("县域内住院占比", "in-county admission share"),
        "primary_visit_share": ("基层门诊占比", "primary-level visit share"),
        "out_of_pocket_share": ("个人自付占比", "out-of-pocket share"),
        "heads_moved": ("改签人数", "head count moved"),
        "visits_per_person": ("人均门诊次数", "visits per person"),
        "admissions_per_100": ("每百人住院次数", "admissions per 100"),
        "claims_cost": ("医疗费用（元）", "claims cost (yuan)"),
        "claims_fund_paid": ("基金支付（元）", "fund paid on claims (yuan)"),
        "heads_in": ("改签转入人数", "heads moved in"),
        "heads_out": ("改签转出人数", "heads moved out"),
        "spending": ("支出（元）", "spending (yuan)"),
        "surplus": ("结余留用（元）", "surplus kept (yuan)"),
        # the referral flows and reserved capacity (referral.analytics, /referral-flows)
        "up": ("上转", "referred up"),
        "down": ("下转", "referred down"),
        "up_arrived": ("上转到诊", "referred up, arrived"),
        "down_arrived": ("下转到诊", "referred down, arrived"),
        "from_tier": ("转出层级", "from tier"),
        "to_tier": ("转入层级", "to tier"),
        "referral_direction": ("转诊方向", "direction"),
        "referrals": ("转诊人次", "referrals"),
        "arrived": ("到诊人次", "arrived"),
        "slots": ("号源数", "slots"),
        "capacity": ("号源总量", "places"),
        "reserved": ("预留号源", "reserved places"),
        "booked": ("已预约", "booked"),
        "referred": ("转诊患者预约", "booked by referred patients"),
        "released": ("释放后他人预约的预留号源", "reserved places booked by others after release"),
        "booked_open": ("非转诊预约", "booked without a referral"),
        "reserve_unused": ("未用预留号源", "reserved places unused"),
        # remote diagnoses of the shared centres (centres, /diagnoses)
        "centre_id": ("中心机构编码", "centre id"),
        "orders": ("申请单数", "orders"),
        "reported": ("已出报告", "reported"),
        "median_hours": ("报告时长中位数（小时）", "median turnaround (hours)"),
        "p90_hours": ("报告时长P90（小时）", "p90 turnaround (hours)"),
        "repeats_avoided": ("避免重复检查", "repeats avoided"),
        # referral and remote-diagnosis figures from the workflows (/workflow-indicators)
        "up_referrals": ("上转人次", "up-referrals"),
        "down_referrals": ("下转人次", "down-referrals"),
        "down_referrals_from_county": ("县级机构下转人次", "down-referrals from county-tier units"),
        "referrals_completed": ("完成转诊人次", "referrals completed"),
        "remote_diagnoses": ("远程影像/心电/超声诊断人次", "remote imaging, ECG and ultrasound diagnoses"),
        # the public-health duty lists of the key populations (care.service.duties, /care/duties)
        "key_population": ("重点人群", "key population"),
        "persons": ("人数", "persons"),
        "services_counted": ("应完成服务", "services due (closed or done)"),
        "services_done": ("已完成服务", "services done"),
        "services_open": ("待完成服务", "services open now"),
        "completion_rate": ("完成率（%）", "completion rate (%)"),
    },
    # care.domain.Disease, Control, Worklist
    "disease": {
        "hypertension": ("高血压", "hypertension"),
        "diabetes": ("2型糖尿病", "type 2 diabetes"),
    },
    "control": {
        "controlled": ("控制满意", "controlled"),
        "uncontrolled": ("控制不满意", "uncontrolled"),
        "unknown": ("未测", "not measured"),
    },
    "worklist": {
        "overdue": ("逾期未随访", "overdue"),
        "due": ("本周应随访", "due this week"),
        "uncontrolled": ("上次未控制", "uncontrolled at the last visit"),
        "lost": ("失访", "lost to follow-up"),
    },
    # care.domain.KeyPopulation (重点人群) and care.schedules.SlotState (a scheduled service today)
    "key_population": {
        "elderly": ("65岁及以上老年人", "aged 65+"),
        "child": ("0-6岁儿童", "children 0-6"),
        "pregnant": ("孕产妇", "pregnant women"),
        "hypertension": ("高血压患者", "hypertension"),
        "diabetes": ("2型糖尿病患者", "type 2 diabetes"),
        "tuberculosis": ("肺结核患者", "tuberculosis"),
        "mental": ("严重精神障碍患者", "severe mental disorders"),
    },
    "slot_state": {
        "done": ("已完成", "done"),
        "upcoming": ("未到期", "upcoming"),
        "due": ("应服务", "due"),
        "overdue": ("已逾期", "overdue"),
        "missed": ("已错过", "missed"),
    },
    # the shared health record (shared.domain.Basis; shared.service): why a record was opened, what its rows are
    "record_basis": {
        "household": ("本户成员", "own household"),
        "designation": ("定点机构", "designated here"),
        "contract": ("家庭医生签约", "family-doctor contract"),
        "referral": ("转诊", "referral"),
    },
    "record_source": {
        "claim": ("就诊结算", "claim"),
        "registry": ("慢病登记", "chronic-disease registry"),
        "referral": ("转诊单", "referral"),
        "remote": ("远程诊断报告", "remote diagnosis report"),
        "followup": ("随访测量", "follow-up reading"),
        "down_referral": ("下转康复计划", "down-referral care plan"),
        "consultation": ("远程会诊意见", "tele-consultation opinion"),
    },
    # centres.domain.ConsultStatus: a tele-consultation
    "consult_status": {
        "requested": ("已申请", "requested"),
        "scheduled": ("已排期", "scheduled"),
        "declined": ("已拒绝", "declined"),
        "held": ("已会诊", "held"),
        "concluded": ("已出意见", "concluded"),
        "cancelled": ("已撤销", "cancelled"),
    },
    # what a settled budget came from (budget.agreement: a signed agreement, else the formula)
    # simulator scenarios: the policy keys a scenario overrides most often and the behaviour parameters
    # (simulator.domain.Scenario.changes); a key without a label is shown as it is
    "scenario_key": {
        "benefits.flat_copay": ("定点机构门诊定额自付", "flat copay at the designated institutions"),
        "benefits.designated_primary.inpatient_deductible": ("定点基层住院起付线",
                                                             "inpatient deductible, designated primary"),
        "benefits.designated_primary.inpatient_rate": ("定点基层住院报销比例", "inpatient rate, designated primary"),
        "benefits.designated_primary.outpatient_deductible": ("定点基层门诊起付线",
                                                              "outpatient deductible, designated primary"),
        "benefits.designated_primary.outpatient_rate": ("定点基层门诊报销比例", "outpatient rate, designated primary"),
        "benefits.annual_cap_resident": ("居民年度最高支付限额", "annual cap, residents"),
        "capitation.p4p_reserve": ("绩效考核预留比例", "P4P reserve"),
        "capitation.risk_adjustment": ("人头风险调整", "risk-adjusted heads"),
        "capitation.risk_weights": ("风险调整系数", "risk weights"),
        "capitation.risk_diagnoses": ("风险调整病种诊断", "diagnoses of the risk adjustment"),
        "settlement.surplus_retained": ("结余留用比例", "surplus retained"),
        "settlement.overspend_band": ("合理超支区间", "overspend band"),
        "settlement.overspend_fund_share_in_band": ("区间内超支基金分担比例", "fund's share of overspend in the band"),
        "settlement.overspend_fund_share_beyond": ("区间外超支基金分担比例", "fund's share of overspend beyond it"),
        "behaviour.elasticity_outpatient": ("门诊价格弹性", "price elasticity of visits"),
        "behaviour.elasticity_inpatient": ("住院价格弹性", "price elasticity of admissions"),
        "behaviour.prevention_effort": ("预防投入", "prevention effort"),
        "behaviour.prevention_by_consortium": ("各医共体预防投入", "prevention effort by consortium"),
        "behaviour.cost_growth": ("次均费用年增长", "yearly growth of the cost per claim"),
        "behaviour.income_growth": ("基金收入年增长", "yearly growth of the fund's income"),
        "behaviour.repatriation": ("县外住院每年回流比例", "admissions brought back into the county a year"),
        "behaviour.max_repatriation": ("县外住院回流上限", "most admissions brought back"),
        "behaviour.repatriated_cost_ratio": ("回流住院费用比", "cost of a brought-back admission"),
        "behaviour.review_share": ("每年重新选择的居民比例", "share of residents reconsidering"),
        "behaviour.inertia": ("留在原医共体的倾向", "inertia"),
    },
    "budget_source": {
        "signed": ("按签订的协议金额", "signed agreement"),
        "formula": ("按测算公式（尚无签订的协议）", "formula figure (no signed agreement)"),
    },
}


class UnknownLabelGroup(KeyError):
    """A group name that :data:`LABELS` does not hold (a programming error, not input)."""


def label(group: str, code: object, lang: str = "zh") -> str:
    """The label of ``code`` in ``group`` in ``lang`` (``zh`` or ``en``); an unknown code is shown as it is (a policy
    may name its own grades), never hidden."""
    table = LABELS.get(group)
    if table is None:
        raise UnknownLabelGroup(group)
    key = str(getattr(code, "value", code))
    pair = table.get(key)
    if pair is None:
        return key
    return pair[1] if lang == "en" else pair[0]


def labelled(group: str, code: object) -> str:
    """``"中文 code"``: the Chinese label with the code beside it, for a download's header or a report's cell that
    a program reads back too (``column``: ``"机构编码 inst_id"``)."""
    key = str(getattr(code, "value", code))
    zh = label(group, key, "zh")
    return key if zh == key else f"{zh} {key}"


def column_label(code: str, lang: str = "zh") -> str:
    """A download's column header in ``lang``: the label with the code last (``"机构编码 inst_id"``, in English
    ``"institution id inst_id"``), so that a program reads the column back by its last word whatever the language;
    a column without a label is its code alone."""
    key = str(getattr(code, "value", code))
    shown = label("column", key, lang)
    return key if shown == key else f"{shown} {key}"


def column_headers(columns: Iterable[str], lang: str = "zh") -> list[str]:
    """The header row of a download (CSV or Excel): ``"中文 code"`` for every column with a label (``lang="en"``:
    the English label), the code last so that a program reads the column back by its last word (``h.split()[-1]``)."""
    return [column_label(c, lang) for c in columns]


def format_count(n: int | None) -> str:
    """A count with thousands separators: 38956 -> ``"38,956"``; None -> ``"—"``."""
    return "—" if n is None else f"{int(n):,}"


def format_money(fen: int | None) -> str:
    """Integer fen as yuan with thousands separators and two decimals, exactly: 123456789 -> ``"1,234,567.89"``."""
    if fen is None:
        return "—"
    sign = "-" if fen < 0 else ""
    q, r = divmod(abs(int(fen)), 100)
    return f"{sign}{q:,}.{r:02d}"


def format_number(value: Decimal | int | float | str | None) -> str:
    """An indicator value or score for display: thousands separators, the decimals it has, no exponent."""
    if value is None or value == "":
        return "—"
    d = value if isinstance(value, Decimal) else Decimal(str(value))
    if d == d.to_integral_value():
        return f"{int(d):,}"
    text = f"{d:,f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
