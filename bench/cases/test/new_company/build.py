"""Build the 康屿医疗集团 TEST knowledge folder and its evaluation cases.

康屿医疗集团有限公司 is an invented mid-size private hospital group (several
院区, doctors, nurses, medical technicians and support staff). Every name,
number, system and extension below is made up.

Run from the repository root (any Python with openpyxl):

    python bench/cases/test/new_company/build.py

It writes, next to this file:
    faq/员工服务问答.xlsx      40 FAQ entries, headers 序号 / 业务模块 / 常见问题 / 其他问法 / 参考答案
                                (其他问法: 1-3 similar questions separated by "|")
    glossary/医疗缩略语.xlsx    merged title row + 25 abbreviations, headers 缩写词 / 英文名称 / 中文含义 / 使用说明
    docs/*.md                  3 short documents (headings, lists, one table each)
    cases.jsonl                103 evaluation cases (TEST set: report only, never tune on it)

The output is deterministic (fixed workbook timestamps, fixed zip entry dates).
After writing, the script reads every file back and checks every case: each anchor is
found in the text of its source file (whitespace ignored); FAQ anchors are in the
answer of the entry the case names and in no other answer or document; document
anchors are in no FAQ answer; term anchors are glossary cells; the key words of every
abstain case are absent from the whole knowledge; counts per kind; and every question
is unique across all of bench/cases/**.jsonl (and differs from the stored FAQ
questions).  Any failure prints the reason and exits non-zero.
"""

from __future__ import annotations

import io
import json
import re
import sys
import zipfile
from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font

HERE = Path(__file__).resolve().parent
CASES_ROOT = HERE.parents[1]  # bench/cases
FAQ_FILE = "员工服务问答.xlsx"
GLOSSARY_FILE = "医疗缩略语.xlsx"
DOC_AE = "医疗安全不良事件报告管理办法.md"
DOC_RT = "住院医师规范化培训管理细则.md"
DOC_TR = "出差与学术会议管理办法.md"

# ---------------------------------------------------------------------------
# FAQ: (序号, 业务模块, 常见问题, 其他问法 separated by "|", 参考答案)
# Sibling clusters: 年假天数/年假申请, 产假/陪产假, 夜班费/下夜班休息, 换班/加班,
# 在职证明/收入证明, 医师执业变更/护士执业延续, 员工本人就医/家属就医,
# 体检/疫苗, 工作服领取/工作服清洗, HIS密码/HIS权限, 电脑报修/医疗设备报修,
# 报销到账/发票要求, 食堂/饭卡, 停车/班车, 继续教育学分/外出进修/职称申报.
# ---------------------------------------------------------------------------
FAQ = [
    (1, "人事", "年假有多少天？", "年休假天数怎么算|我今年能休几天年假",
     "累计工作满1年不满10年的，每年年休假5天；满10年不满20年的，10天；满20年的，15天。临床科室的年休假由科室统一排休，原则上避开春节前后各两周及每年7—8月门诊高峰。"),
    (2, "人事", "年假怎么申请？", "请年休假走什么流程|年假在哪里提交",
     "在“康屿人事通”App提交“年休假申请”：护理岗位先经护士长同意，医师岗位先经科主任同意，再由科室排班员确认排班后生效。请至少提前5个工作日提交。"),
    (3, "人事", "病假怎么请？", "生病了请假要什么材料|病假条找谁开",
     "在“康屿人事通”提交“病假申请”，并上传本集团医院或其他二级及以上医院开具的病假证明；病假连续超过3天的，还须报医务部（医师）或护理部（护士）备案。病假期间按本人基本工资的80%发放工资。"),
    (4, "人事", "产假有多少天？", "女员工生育假期多长|顺产产假几天",
     "女员工生育享受产假158天，其中产前可休15天；难产的增加15天，生育多胞胎的每多生育1个婴儿增加15天。产前检查时间计入劳动时间。"),
    (5, "人事", "陪产假怎么休？", "老婆生孩子男员工有假吗|护理假有几天",
     "男员工的配偶生育的，享受陪产假15天，须在配偶生育之日起60天内一次休完。申请时在“康屿人事通”上传出生医学证明。"),
    (6, "薪酬", "夜班费怎么算？", "夜班补助多少钱|值一个夜班给多少",
     "临床科室夜班（17:30至次日8:00）按班次发放夜班费：医师每班180元，护士每班150元，医技及其他岗位每班100元。夜班费由科室每月汇总，随次月工资发放。"),
    (7, "考勤", "下夜班可以休息吗？", "值完夜班第二天要上班吗|夜班后怎么安排休息",
     "夜班结束当天安排休息，不再安排白班；每人连续夜班不超过3个，两个夜班之间至少间隔1个白班或休息日。急诊科、ICU按科室另行制定的轮班规则执行。"),
    (8, "考勤", "怎么和同事换班？", "调班需要谁批|临时有事想和别人对调一个班",
     "换班须双方自愿，至少提前24小时在“康屿排班”系统提交换班申请，由护士长或科主任审批；每人每月换班不超过4次，夜班只能与具备同等资质的人员互换。"),
    (9, "考勤", "加班怎么补偿？", "加班能调休吗|加班费按几倍算",
     "科室安排的加班须经科主任审批，并在“康屿排班”中登记。工作日加班安排补休；休息日加班优先安排补休，不能补休的按本人工资的200%支付加班费；法定节假日加班按300%支付。补休须在加班后3个月内用完。"),
    (10, "薪酬", "每月几号发工资？", "工资哪天到账|工资条在哪看",
     "每月12日发放上月工资，遇周末或法定节假日提前到最近的工作日。电子工资条可在“康屿人事通”的“我的薪资”中查看。"),
    (11, "人事", "在职证明怎么开？", "办签证要在职证明|开在职证明要几天",
     "在“康屿人事通”的“证明办理”中选择“在职证明”并填写用途，院区人事科在1个工作日内盖章；可到人事科自取纸质版，也可下载带电子章的PDF。"),
    (12, "人事", "收入证明怎么开？", "贷款要收入证明|工资证明去哪开",
     "收入证明须本人携带身份证到院区人事科现场申请，注明用途和出具对象。人事科会同财务部核对近12个月收入后，在3个工作日内出具。"),
    (13, "人事", "离职要提前多久申请？", "辞职流程|离职手续怎么办",
     "试用期员工提前3天、正式员工提前30天在“康屿人事通”提交离职申请。医师、护士须同时办理执业注册变更或注销，并完成在院病人、病历和科室物资的交接，归还工牌和工作服。"),
    (14, "医务", "医师执业地点怎么变更？", "执业证换到本院怎么办|医生多点执业怎么备案",
     "新入职医师须在入职后30天内通过“医师电子化注册系统”提交执业地点变更申请，由医务部审核盖章。拟在其他机构多点执业的，须先经科主任和医务部同意后再备案。"),
    (15, "护理", "护士执业证到期怎么延续？", "护士证延续注册|护士执业证书快过期了",
     "护士执业证书有效期为5年，须在有效期届满前30日由护理部统一提交延续注册。本人需提供近6个月内的健康体检证明。"),
    (16, "培训", "继续教育学分有什么要求？", "每年要修多少学分|学分不够影响什么",
     "卫生技术人员每年须取得继续医学教育（CME）学分不少于25分，其中I类学分不少于10分。学分可在“康屿学苑”查询；当年学分未达标的，不得参加职称晋升。"),
    (17, "培训", "外出进修怎么申请？", "想去上级医院进修|进修期间工资怎么发",
     "外出进修由科室推荐，填写《外出进修申请表》，经科主任、医务部或护理部和分管院长审批。进修期一般3至12个月，期间基本工资照发，绩效奖金按50%发放；进修费用超过2万元的须签订3年服务期协议。"),
    (18, "医疗福利", "员工本人看病有优惠吗？", "职工在本院就诊能打折吗|员工就医减免",
     "员工在集团各院区门诊就诊免收挂号费，自费检查和治疗项目享受8折，住院自费部分享受9折。就诊时凭工牌在“员工通道”挂号。"),
    (19, "医疗福利", "员工家属看病有优惠吗？", "爸妈来看病能打折吗|配偶就诊优惠",
     "员工的配偶、子女和父母在集团各院区就诊，自费检查和治疗项目享受9折，药品和耗材不打折。家属须事先在“康屿人事通”的“家属信息”中登记。"),
    (20, "医疗福利", "员工体检什么时候做？", "年度体检几月份|体检要自己交钱吗",
     "集团每年4月至5月在各院区体检中心为在职员工安排一次免费健康体检。放射、检验、感染科等岗位另加做职业健康检查，由预防保健科通知时间。"),
    (21, "医疗福利", "员工打疫苗免费吗？", "乙肝疫苗公司给打吗|流感疫苗在哪打",
     "乙肝表面抗体阴性的临床一线员工可免费接种乙肝疫苗；每年10月集团为全体员工免费接种流感疫苗。接种前到所在院区预防保健科登记。"),
    (22, "安全", "被针扎伤了怎么处理？", "针刺伤处理流程|职业暴露怎么上报",
     "立即从近心端向远心端挤出伤口血液，用流动水冲洗并用碘伏消毒；1小时内报告科室负责人，在“不良事件系统”填报职业暴露，并到感染管理科评估。HIV暴露须在2小时内开始预防用药，相关检查和用药费用由医院承担。"),
    (23, "后勤", "工作服怎么领？", "白大褂在哪领|护士服一年发几套",
     "新员工凭入职通知单到院区被服中心领取工作服：医师白大褂3件，护士服3套，手术室人员另发洗手衣2套。之后每年4月按岗位补发1次。"),
    (24, "后勤", "工作服怎么清洗？", "白大褂脏了去哪洗|工作服送洗要钱吗",
     "工作服由被服中心统一免费清洗：每周一、三、五上午按编号投放到科室污衣间，48小时内洗净送回科室。被血液、体液污染的工作服须装入黄色医疗废物袋单独投放。"),
    (25, "信息", "HIS密码忘了怎么办？", "医生工作站登不上|HIS账号被锁了",
     "请拨打信息中心服务热线（分机6600），核实工号和身份证后4位后由工程师重置密码。连续输错5次密码，账号锁定15分钟；重置后首次登录须立即修改密码。"),
    (26, "信息", "怎么开通HIS权限？", "新来的医生怎么开处方权限|系统权限申请",
     "由科室在“信息服务平台”提交《系统权限申请单》，经科主任审批，涉及处方权的还须医务部审批，信息中心在2个工作日内开通。处方权须在取得执业证并通过本院处方管理培训后才能开通。"),
    (27, "信息", "电脑坏了怎么报修？", "科室电脑故障|打印机坏了找谁",
     "在“信息服务平台”提交报修工单，或拨打分机6600。信息中心工程师在工作时间内30分钟内响应，门急诊区域15分钟内到场。"),
    (28, "设备", "医疗设备坏了找谁？", "监护仪故障报修|设备科电话多少",
     "医疗设备故障由设备科负责，在“设备管理系统”报修或拨打分机6800。呼吸机、除颤仪等急救设备故障须立即电话报修，设备科10分钟内到场并提供备用设备。"),
    (29, "财务", "报销多久能到账？", "报销款什么时候打过来|报销审批流程",
     "报销单在“康屿财务云”提交，经科室负责人和财务部审核后，每周二、周五统一付款到工资卡，一般5个工作日内到账。"),
    (30, "财务", "报销发票有什么要求？", "发票抬头写什么|电子发票能报吗",
     "发票抬头须为“康屿医疗集团有限公司”并填写纳税人识别号；电子发票须上传PDF原件，不接受截图或照片；发票开具日期须在提交报销前180天以内。"),
    (31, "后勤", "职工食堂几点开饭？", "食堂营业时间|夜班能吃上饭吗",
     "各院区职工食堂位于门诊楼负一层：早餐6:30—8:30，午餐11:00—13:30，晚餐17:00—19:00。夜班人员22:00—23:00可凭工牌领取夜班餐。"),
    (32, "后勤", "饭卡怎么充值？", "餐补每月多少|饭卡余额怎么查",
     "集团每月1日向工牌内的餐卡充值餐补300元；个人可在“康屿人事通”或食堂服务台自行充值，余额可在App中查询。餐补余额跨月累计，离职时个人充值部分可退，餐补部分清零。"),
    (33, "后勤", "员工停车怎么办理？", "职工车位怎么申请|停车费多少",
     "员工车位按月申请，地下车库每月200元，从工资中扣除，优先保障夜班及值班人员。门诊高峰时段（7:30—10:00）员工车辆不得占用地面患者车位。"),
    (34, "后勤", "有没有员工班车？", "班车几点发车|上下班班车路线",
     "集团在东院区和南院区之间开通员工班车：工作日7:00、7:30从南院区发车，17:45、18:15从东院区返回。刷工牌免费乘坐。"),
    (35, "行政", "工牌丢了怎么补？", "胸牌遗失|门禁卡丢了",
     "请先在“康屿人事通”挂失，再到院区保卫科补办，工本费25元，3个工作日后领取。"),
    (36, "人事", "职称评审什么时候申报？", "评职称几月份报名|晋升中级职称要准备什么",
     "每年3月在“康屿人事通”发布职称申报通知，4月1日至4月20日提交材料。申报人须满足任职年限要求，继续教育学分达标，且近3年年度考核均为合格及以上。"),
    (37, "后勤", "员工宿舍怎么申请？", "医院有没有宿舍|单身公寓怎么住",
     "单身员工及外地来院的规培医师可申请员工公寓，双人间，每人每月250元，在“康屿人事通”的“公寓服务”提交申请，由后勤保障部统一分配，最长入住3年。"),
    (38, "医务", "被患者投诉了怎么办？", "病人投诉怎么处理|医患纠纷找哪个部门",
     "接到投诉先做好安抚和记录，当班无法解决的转交院区客户服务中心（分机6000）。客服中心在5个工作日内反馈处理结果；涉及医疗纠纷的，由医务部医患关系办公室牵头处理。"),
    (39, "薪酬", "绩效奖金怎么算？", "绩效工资什么时候发|奖金按什么分",
     "绩效奖金按月核算，依据科室工作量、医疗质量考核和患者满意度，由科室进行二次分配，随次月工资发放。年度考核不合格的，扣减当年年终绩效。"),
    (40, "福利", "员工生日有福利吗？", "过生日公司发什么|生日礼品卡怎么领",
     "员工生日当月由工会发放200元生日礼品卡，领取方式可在“康屿人事通”的“工会福利”中查看。"),
]

# ---------------------------------------------------------------------------
# Glossary: (缩写词, 英文名称, 中文含义, 使用说明)
# ---------------------------------------------------------------------------
GLOSSARY = [
    ("HIS", "Hospital Information System", "医院信息系统", "集团各院区统一使用的门诊、住院和收费系统，医生工作站和护士工作站都在其中。"),
    ("EMR", "Electronic Medical Record", "电子病历", "住院病历在HIS中书写，由病案室统一归档。"),
    ("PACS", "Picture Archiving and Communication System", "影像归档和通信系统", "放射科、超声科的影像在此存储和调阅。"),
    ("LIS", "Laboratory Information System", "实验室信息系统", "检验科使用，检验报告由LIS推送到医生工作站。"),
    ("CSSD", "Central Sterile Supply Department", "消毒供应中心", "负责可复用器械的回收、清洗、消毒、灭菌和发放。"),
    ("MDT", "Multi-Disciplinary Team", "多学科诊疗", "疑难病例由多个科室专家共同讨论制定诊疗方案。"),
    ("DRG", "Diagnosis Related Groups", "疾病诊断相关分组", "医保按病组付费的方式，病案首页填写质量直接影响分组。"),
    ("CME", "Continuing Medical Education", "继续医学教育", "学分在康屿学苑登记和查询。"),
    ("BLS", "Basic Life Support", "基础生命支持", "全体临床人员须取得的心肺复苏培训证书。"),
    ("ACLS", "Advanced Cardiovascular Life Support", "高级心血管生命支持", "急诊科、ICU和麻醉科医护人员须取得。"),
    ("ICU", "Intensive Care Unit", "重症监护室", "各院区均设有综合ICU。"),
    ("NICU", "Neonatal Intensive Care Unit", "新生儿重症监护室", "设在南院区妇儿中心。"),
    ("OPD", "Outpatient Department", "门诊部", "负责门诊排班、号源管理和门诊秩序。"),
    ("CDSS", "Clinical Decision Support System", "临床决策支持系统", "在医生开立医嘱时给出用药和检查提示。"),
    ("SBAR", "Situation, Background, Assessment, Recommendation", "标准化沟通模式", "护理交接班和危急值报告时使用的沟通格式。"),
    ("PDCA", "Plan-Do-Check-Act", "计划-执行-检查-处理循环", "质量改进项目的基本方法。"),
    ("JCI", "Joint Commission International", "国际医疗卫生机构认证联合委员会", "东院区正在准备该机构的认证。"),
    ("VTE", "Venous Thromboembolism", "静脉血栓栓塞症", "住院患者入院24小时内须完成风险评估。"),
    ("HAI", "Healthcare-Associated Infection", "医院感染", "由感染管理科监测和上报。"),
    ("RRT", "Rapid Response Team", "快速反应小组", "病房患者病情突然恶化时呼叫，由ICU医生和护士组成。"),
    ("KHC", "Kangyu HR Connect", "康屿人事通", "员工自助App：请假、工资条、证明办理、公寓服务等。"),
    ("KCF", "Kangyu Cloud Finance", "康屿财务云", "集团的费用报销和预算系统。"),
    ("KLA", "Kangyu Learning Academy", "康屿学苑", "集团线上学习平台，记录培训学时和继续教育学分。"),
    ("GCP", "Good Clinical Practice", "药物临床试验质量管理规范", "参与药物临床试验的人员须取得GCP培训证书。"),
    ("SPD", "Supply, Processing and Distribution", "医用耗材供应、加工与配送", "耗材由第三方在院内统一配送到科室二级库。"),
]

# ---------------------------------------------------------------------------
# Documents
# ---------------------------------------------------------------------------
DOCS = {
    DOC_AE: """# 康屿医疗集团 医疗安全（不良）事件报告管理办法

文件编号：KY-ZK-07　　归口部门：质量控制部

## 一、目的与适用范围

为及时发现医疗安全隐患，持续改进医疗质量，保障患者安全，制定本办法。本办法适用于集团各院区的医师、护士、医技人员、后勤人员及驻院外包服务人员。

## 二、事件分级与报告时限

| 级别 | 名称 | 判定标准 | 报告时限 |
| --- | --- | --- | --- |
| 一级 | 警讯事件 | 造成患者死亡或永久性功能丧失 | 发现后2小时内电话报告质量控制部，24小时内在系统补填 |
| 二级 | 不良后果事件 | 造成患者暂时性伤害，需要额外治疗 | 发现后24小时内 |
| 三级 | 未造成后果事件 | 差错已经发生，但未对患者造成伤害 | 发现后72小时内 |
| 四级 | 隐患事件 | 差错在到达患者之前被发现并纠正 | 每周五前汇总上报 |

## 三、报告方式

1. 当事人或发现人通过“不良事件系统”填报，也可由科室质控员代为填报。
2. 一级事件须同时电话报告院区总值班（分机6119）。
3. 报告内容包括发生时间、地点、经过、患者情况和已经采取的处置措施。
4. 报告人可以选择匿名填报，匿名报告同样会被受理和分析。

## 四、非惩罚原则与激励

1. 集团实行非惩罚性报告制度：主动上报且不属于故意违规的，不因上报而追究个人责任。
2. 每例有效上报奖励50元，四级隐患事件同样计奖，奖励按季度发放。
3. 每年评选“患者安全之星”10名，每名奖励2000元。
4. 应报未报或瞒报的，一经查实，扣减科室当月质量考核分5分，并追究当事人责任。

## 五、分析与改进

1. 质量控制部收到二级及以上事件后，7个工作日内组织根本原因分析（RCA）。
2. 警讯事件须在30天内完成RCA报告，提交集团医疗质量与安全委员会审议。
3. 改进措施由责任科室落实，质量控制部在3个月后复查改进效果。
4. 每季度在集团内网发布一次不良事件分析通报，隐去患者和当事人信息。
""",
    DOC_RT: """# 康屿医疗集团 住院医师规范化培训管理细则

归口部门：科教部

## 一、培训对象与年限

1. 培训对象为拟从事临床工作的医学本科及以上学历毕业生，以及集团新招聘、尚未完成规范化培训的住院医师（以下简称规培医师）。
2. 培训年限一般为3年；已取得临床医学硕士专业学位的，经考核可缩短为2年。
3. 培训期间请假累计超过3个月的，须相应延长培训时间。

## 二、轮转安排

1. 规培医师按所在专业基地的轮转计划在相关科室轮转，每个科室轮转时间不少于1个月。
2. 轮转计划由专业基地主任制定，经科教部审核后在“康屿学苑”公布，个人不得自行调换轮转科室。
3. 轮转期间参加所在科室的值班，但不得单独值一线班，须有上级医师在岗。
4. 规培医师须每天在《培训登记手册》中记录管理的病例、完成的操作和参加的教学活动。

## 三、带教老师

1. 带教老师须具有主治医师及以上职称，并取得集团颁发的带教资格证书。
2. 每名带教老师同时带教的规培医师不超过3名。
3. 带教老师每周至少组织1次教学查房或病例讨论，带教工作量计入带教老师的年度考核。

## 四、考核

| 考核类型 | 时间 | 形式 |
| --- | --- | --- |
| 出科考核 | 每个轮转科室结束前1周 | 理论考试和操作考核 |
| 年度考核 | 每年8月 | 理论考试和病历评审 |
| 结业考核 | 培训最后一年的5月 | 理论考试和临床实践能力考核 |

连续2次出科考核不合格的，延期结业半年。

## 五、待遇

1. 规培医师每月生活补助：第一年4500元，第二年5000元，第三年5500元。
2. 面向社会招收的规培医师，由集团代为缴纳社会保险。
3. 规培结业并取得合格证书后，可按集团招聘程序择优留用。
""",
    DOC_TR: """# 康屿医疗集团 出差与学术会议管理办法

归口部门：财务部、科教部

## 一、申请与审批

1. 因公出差或外出参加学术会议，须至少提前10个工作日在“康屿协同”提交《外出申请》，附会议通知，经科主任和分管院领导审批。
2. 每人每年公费参加外部学术会议原则上不超过3次；副高级及以上职称人员不超过5次。
3. 论文被大会录用为口头发言的，该次参会不计入上述次数。
4. 同一会议同一科室原则上派出不超过2人。

## 二、费用标准

住宿费每人每晚上限如下：

| 城市类别 | 住宿上限（元/晚） |
| --- | --- |
| 北京、上海、广州、深圳 | 550 |
| 省会城市 | 400 |
| 其他城市 | 300 |

1. 城际交通原则上乘坐高铁二等座或飞机经济舱；正高级职称人员可乘坐高铁一等座。
2. 会议注册费凭发票和会议通知报销，单次超过3000元的须经院长审批。
3. 出差伙食补贴每天80元，按实际出差天数计算，无需发票。

## 三、返回后的要求

1. 返回后10个工作日内在“康屿财务云”提交报销单。
2. 参会人员须在返回后1个月内在本科室做一次学习汇报，并把会议资料上传到“康屿学苑”。
3. 未按期汇报的，下一年度公费参会次数减少1次。
""",
}

# ---------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------
# FAQ paraphrases: (entry 序号, question, anchors from that entry's 参考答案)
PARAPHRASES = [
    (1, "我工作12年了一年能歇几天", ["满10年不满20年的，10天"]),
    (2, "休年假要提前几天报上去", ["提前5个工作日"]),
    (3, "发烧了想在家躺两天，要交啥", ["病假证明", "基本工资的80%"]),
    (5, "媳妇下个月生，我能请几天假在家陪她", ["陪产假15天", "60天内"]),
    (6, "护士上一个大夜能拿多少钱", ["护士每班150元"]),
    (7, "上完大夜第二天还得来吗", ["不再安排白班"]),
    (8, "下周三家里有事，想跟人对换一下咋弄", ["提前24小时", "不超过4次"]),
    (9, "周六被叫回来干活，是给钱还是补假", ["优先安排补休", "200%"]),
    (11, "出国旅游需要单位开个证明说我在这上班", ["1个工作日内盖章", "电子章"]),
    (12, "买车贷款银行要我的月薪证明，怎么弄", ["近12个月收入", "3个工作日内出具"]),
    (13, "不想干了，得提前多少天打招呼", ["提前30天"]),
    (14, "刚从别的医院跳过来，执业证上的单位怎么改", ["入职后30天内", "医师电子化注册系统"]),
    (15, "护士证五年快满了要干嘛", ["健康体检证明", "延续注册"]),
    (16, "一年得攒够多少分才不耽误评职称", ["不少于25分"]),
    (17, "科里想派我去北京大医院学半年，工资照发吗", ["基本工资照发", "按50%发放"]),
    (18, "自己在咱们医院挂号要钱吗", ["免收挂号费"]),
    (19, "孩子在咱们院看病有没有内部价", ["药品和耗材不打折", "家属信息"]),
    (20, "每年那次免费查身体一般安排在几月", ["4月至5月"]),
    (21, "单位会组织打流感针吗", ["每年10月"]),
    (22, "抽血的时候针头戳到自己手了咋办", ["碘伏", "感染管理科"]),
    (23, "刚入职，白衣服去哪拿", ["入职通知单"]),
    (24, "衣服上沾了病人的血，怎么送去洗", ["黄色医疗废物袋"]),
    (25, "工作站密码输错好几回，进不去了", ["锁定15分钟", "身份证后4位"]),
    (26, "刚来科室，系统里没有开处方的权限怎么弄", ["系统权限申请单", "处方管理培训"]),
    (27, "护士站的电脑死机了叫谁来", ["30分钟内响应", "15分钟内到场"]),
    (28, "呼吸机一直报警停了找哪个部门", ["分机6800", "10分钟内到场"]),
    (29, "报的钱几天能打回来", ["5个工作日内到账", "每周二、周五"]),
    (31, "中午饭堂开到几点", ["11:00—13:30"]),
    (33, "开车上班，地库包月多少钱", ["每月200元"]),
    (38, "病人家属闹着说要告我，我该找谁", ["分机6000", "医患关系办公室"]),
    # English questions on Chinese FAQ entries (kind paraphrase)
    (10, "When do we get paid each month?", ["12日"]),
    (35, "I lost my staff badge. What should I do?", ["保卫科", "工本费25元"]),
    (34, "Is there a shuttle bus between the campuses?", ["刷工牌免费乘坐", "17:45"]),
    (32, "How much meal allowance goes onto my card every month?", ["餐补300元"]),
    (4, "How many days off do new mothers get?", ["158天"]),
]

# Near misses: (imitated entry 序号, question, key words that must be absent from the whole knowledge)
NEAR_MISSES = [
    (1, "年假没休完能折成钱吗", ["折成钱", "折现", "未休"]),
    (2, "年假可以按半天请吗", ["半天"]),
    (4, "哺乳期每天能早走一小时吗", ["哺乳"]),
    (5, "育儿假一年有几天", ["育儿"]),
    (12, "个税完税证明在哪打印", ["个税", "完税"]),
    (11, "解除劳动合同证明多久给开", ["解除劳动合同", "离职证明"]),
    (18, "退休职工回来看病还有折扣吗", ["退休"]),
    (23, "护士鞋每年发几双", ["鞋"]),
    (33, "电动车在哪充电", ["充电", "电动车"]),
    (25, "HIS晚上几点停机升级", ["停机", "升级"]),
    (28, "病人要借轮椅也是去设备科办吗", ["轮椅"]),
    (35, "工牌上的照片能换一张吗", ["重拍", "换照片", "证件照"]),
    (36, "职称评审结果啥时候公示", ["公示"]),
    (37, "员工公寓能养猫吗", ["猫", "宠物"]),
    (16, "今年学分多出来的能顺延到明年吗", ["顺延", "跨年"]),
]

# Unrelated: (question, key words absent from the whole knowledge)
UNRELATED = [
    ("集团年会今年在哪个酒店办", ["年会"]),
    ("救护车能借出去接亲戚吗", ["救护车"]),
    ("ERAS是什么意思", ["ERAS"]),
    ("你好呀，你是真人还是机器人", ["机器人", "真人"]),
    ("明天会不会下雨", ["下雨"]),
    ("成人高血压的诊断标准是多少", ["高血压"]),
    ("集团有员工持股计划吗", ["持股"]),
    ("申请院级科研基金要准备哪些材料", ["科研", "基金"]),
    ("Who is the president of the Kangyu group?", ["president"]),
    ("What's the ICD-10 code for pneumonia?", ["ICD", "pneumonia"]),
    ("帮我写一首夸护士的小诗", ["诗"]),
    ("工会会费每个月扣多少", ["会费"]),
    ("门诊楼里哪有ATM能取钱", ["ATM"]),
    ("科室团建费人均多少", ["团建"]),
    ("能带孩子来值班室睡吗", ["值班室"]),
]

# Glossary questions: (question, expect_contains: cells of the glossary)
TERMS = [
    ("EMR指的是啥", ["电子病历"]),
    ("pacs全称", ["Picture Archiving and Communication System"]),
    ("检验科那个LIS中文叫什么", ["实验室信息系统"]),
    ("多学科诊疗简称是哪几个字母", ["MDT"]),
    ("DRG付费里的DRG是什么", ["疾病诊断相关分组"]),
    ("ACLS培训是啥意思", ["高级心血管生命支持"]),
    ("科里天天说做VTE评估，VTE到底是什么", ["静脉血栓栓塞症"]),
    ("JCI的英文全称", ["Joint Commission International"]),
    ("RRT小组中文叫什么", ["快速反应小组"]),
    ("康屿学苑的英文缩写", ["KLA"]),
    ("hai是啥", ["医院感染"]),
    ("消毒供应中心的英文缩写是什么", ["CSSD"]),
]

# Document questions: (document, question, anchors from that document)
DOC_CASES = [
    (DOC_AE, "给错药了但病人没事，要在多久里报上去", ["72小时内"]),
    (DOC_AE, "警讯事件发现后多长时间要打电话报告", ["2小时内电话报告"]),
    (DOC_AE, "不良事件可以不署名报吗", ["匿名"]),
    (DOC_AE, "瞒报不良事件科室会扣几分", ["质量考核分5分"]),
    (DOC_AE, "隐患事件也要报吗，什么时候交", ["每周五前汇总上报"]),
    (DOC_RT, "规培一般要培训几年", ["一般为3年"]),
    (DOC_RT, "一个带教老师最多能带几个规培医生", ["不超过3名"]),
    (DOC_RT, "规培第二年每月补贴多少", ["第二年5000元"]),
    (DOC_RT, "出科考试在什么时候考", ["结束前1周"]),
    (DOC_TR, "一年能公费出去开几次学术会", ["不超过3次"]),
    (DOC_TR, "去上海开会酒店一晚最多报多少", ["550"]),
    (DOC_TR, "开完学术会回来还要干啥", ["学习汇报"]),
]

# English questions on the glossary or a document: (route, source, question, anchors)
ENGLISH = [
    ("term", GLOSSARY_FILE, "What does CSSD stand for?", ["Central Sterile Supply Department"]),
    ("term", GLOSSARY_FILE, "What is KHC here?", ["康屿人事通"]),
    ("doc", DOC_TR, "How much is the daily meal allowance on a business trip?", ["每天80元"]),
    ("doc", DOC_AE, "Is there a reward for reporting an adverse event?", ["每例有效上报奖励50元"]),
    ("doc", DOC_RT, "When is the annual assessment for resident doctors?", ["每年8月"]),
    ("doc", DOC_TR, "Does an expensive conference registration fee need extra approval?", ["超过3000元"]),
]

# Follow-ups: history + last question
FOLLOWUPS = [
    {"history": ["SPD是什么意思？"], "question": "它英文全称怎么写", "expect_rewritten": True,
     "expect_route": "term", "expect_contains": ["Supply, Processing and Distribution"], "expect_source": GLOSSARY_FILE},
    {"history": ["护士执业证快到期了怎么办？"], "question": "需要带什么材料", "expect_rewritten": True,
     "expect_route": "fact", "expect_any": ["健康体检证明"], "expect_source": FAQ_FILE},
    {"history": ["员工自己在本院看病有优惠吗？"], "question": "那家里老人呢", "expect_rewritten": True,
     "expect_route": "fact", "expect_any": ["药品和耗材不打折", "家属信息"], "expect_source": FAQ_FILE},
    {"history": ["规培一共要几年？"], "question": "每个科室最少转多久", "expect_rewritten": True,
     "expect_route": "doc", "expect_any": ["不少于1个月"], "expect_source": DOC_RT},
    {"history": ["不良事件分几级？", "一级事件多久要报？"], "question": "三级的呢", "expect_rewritten": True,
     "expect_route": "doc", "expect_any": ["72小时内"], "expect_source": DOC_AE},
    {"history": ["夜班费怎么算？"], "question": "下了夜班当天还用不用上白班", "expect_rewritten": False,
     "expect_route": "fact", "expect_any": ["不再安排白班"], "expect_source": FAQ_FILE},
    {"history": ["DRG是什么意思？"], "question": "职工食堂晚饭几点关门", "expect_rewritten": False,
     "expect_route": "fact", "expect_any": ["17:00—19:00"], "expect_source": FAQ_FILE},
    {"history": ["报销发票有什么要求？"], "question": "集团今年打算招多少护士", "expect_rewritten": False,
     "expect_abstain": True, "absent": ["招多少", "招聘计划"]},
]

EXPECTED = {"paraphrase": 35, "near_miss": 15, "unrelated": 15, "term": 12, "doc": 12, "followup": 8, "english": 6}


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------
FIXED_TIME = "2026-01-05T09:00:00Z"


def deterministic_save(wb: Workbook, path: Path) -> None:
    """Save an openpyxl workbook with fixed timestamps so that reruns give identical bytes."""
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    out = io.BytesIO()
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                text = data.decode("utf-8")
                text = re.sub(r"(<dcterms:created[^>]*>)[^<]*(<)", rf"\g<1>{FIXED_TIME}\2", text)
                text = re.sub(r"(<dcterms:modified[^>]*>)[^<]*(<)", rf"\g<1>{FIXED_TIME}\2", text)
                data = text.encode("utf-8")
            zi = zipfile.ZipInfo(info.filename, date_time=(2026, 1, 5, 9, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            dst.writestr(zi, data)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(out.getvalue())


def write_faq(path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "员工服务问答"
    ws.append(["序号", "业务模块", "常见问题", "其他问法", "参考答案"])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in FAQ:
        ws.append(list(row))
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    for col, width in zip("ABCDE", (6, 10, 26, 40, 90)):
        ws.column_dimensions[col].width = width
    deterministic_save(wb, path)


def write_glossary(path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "缩略语"
    ws.append(["康屿医疗集团 常用医疗及管理缩略语"])
    ws.merge_cells("A1:D1")
    ws["A1"].font = Font(bold=True)
    ws.append(["缩写词", "英文名称", "中文含义", "使用说明"])
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for row in GLOSSARY:
        ws.append(list(row))
    for col, width in zip("ABCD", (10, 48, 30, 70)):
        ws.column_dimensions[col].width = width
    deterministic_save(wb, path)


def case_rows() -> list[dict]:
    faq = {e[0]: e for e in FAQ}
    rows = []
    for no, q, anchors in PARAPHRASES:
        rows.append({"question": q, "expect_route": "fact", "expect_any": anchors, "expect_source": FAQ_FILE,
                     "expect_abstain": False, "kind": "paraphrase", "expect_entry": faq[no][2]})
    for no, q, _ in NEAR_MISSES:
        rows.append({"question": q, "expect_abstain": True, "kind": "near_miss", "expect_entry": faq[no][2]})
    for q, _ in UNRELATED:
        rows.append({"question": q, "expect_abstain": True, "kind": "unrelated"})
    for q, contains in TERMS:
        rows.append({"question": q, "expect_route": "term", "expect_contains": contains,
                     "expect_source": GLOSSARY_FILE, "expect_abstain": False, "kind": "term"})
    for src, q, anchors in DOC_CASES:
        rows.append({"question": q, "expect_route": "doc", "expect_any": anchors, "expect_source": src,
                     "expect_abstain": False, "kind": "doc"})
    for f in FOLLOWUPS:
        row = {"question": f["question"]}
        if f.get("expect_abstain"):
            row["expect_abstain"] = True
        else:
            row["expect_route"] = f["expect_route"]
            for key in ("expect_contains", "expect_any"):
                if key in f:
                    row[key] = f[key]
            row["expect_source"] = f["expect_source"]
            row["expect_abstain"] = False
        row.update({"kind": "followup", "history": f["history"], "expect_rewritten": f["expect_rewritten"]})
        rows.append(row)
    for route, src, q, anchors in ENGLISH:
        key = "expect_contains" if route == "term" else "expect_any"
        rows.append({"question": q, "expect_route": route, key: anchors, "expect_source": src,
                     "expect_abstain": False, "kind": "english"})
    return rows


# ---------------------------------------------------------------------------
# Checking (on the files as written, read back)
# ---------------------------------------------------------------------------
def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


QKEY = re.compile(r"[\s？?！!。.，,、：:；;“”\"'（）()\-]+")


def qkey(q: str) -> str:
    return QKEY.sub("", q).lower()


def xlsx_rows(path: Path) -> list[list[str]]:
    ws = load_workbook(path, read_only=True).active
    return [["" if c is None else str(c) for c in row] for row in ws.iter_rows(values_only=True)]


def other_questions() -> dict[str, str]:
    """Normalised question -> file, for every case file under bench/cases except this folder's cases.jsonl."""
    seen: dict[str, str] = {}
    own = (HERE / "cases.jsonl").resolve()
    for path in sorted(CASES_ROOT.rglob("*.jsonl")):
        if path.resolve() == own:
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            try:
                q = json.loads(line).get("question", "")
            except ValueError:
                continue
            seen.setdefault(qkey(q), path.relative_to(CASES_ROOT).as_posix())
    return seen


def check(rows: list[dict]) -> list[str]:
    errors: list[str] = []
    faq_rows = xlsx_rows(HERE / "faq" / FAQ_FILE)
    gl_rows = xlsx_rows(HERE / "glossary" / GLOSSARY_FILE)
    if faq_rows[0] != ["序号", "业务模块", "常见问题", "其他问法", "参考答案"] or len(faq_rows) != 41:
        errors.append("faq workbook: unexpected header or row count")
    if gl_rows[1] != ["缩写词", "英文名称", "中文含义", "使用说明"] or len(gl_rows) != 27:
        errors.append("glossary workbook: unexpected header or row count")
    entries = {r[2]: r for r in faq_rows[1:]}
    if len(entries) != 40:
        errors.append("faq: standard questions not unique")
    for r in faq_rows[1:]:
        sims = r[3].split("|")
        if not 1 <= len(sims) <= 3 or any(not s.strip() for s in sims):
            errors.append(f"faq {r[0]}: needs 1-3 similar questions")
    if len({r[0] for r in gl_rows[2:]}) != 25:
        errors.append("glossary: abbreviations not unique")
    stored_q = {qkey(r[2]) for r in faq_rows[1:]} | {qkey(s) for r in faq_rows[1:] for s in r[3].split("|")}

    docs = {p.name: p.read_text(encoding="utf-8") for p in sorted((HERE / "docs").glob("*.md"))}
    if sorted(docs) != sorted(DOCS):
        errors.append(f"docs: found {sorted(docs)}")
    for name, text in docs.items():
        if "|" not in text or "## " not in text or "\n1. " not in text:
            errors.append(f"{name}: needs headings, a list and a table")
    source_text = {FAQ_FILE: squash(" ".join(" ".join(r) for r in faq_rows)),
                   GLOSSARY_FILE: squash(" ".join(" ".join(r) for r in gl_rows))}
    source_text.update({n: squash(t) for n, t in docs.items()})
    answers = {r[2]: squash(r[4]) for r in faq_rows[1:]}
    all_answers = squash("\n".join(r[4] for r in faq_rows[1:]))
    all_docs = squash("\n".join(docs.values()))
    gl_cells = {squash(c) for r in gl_rows[2:] for c in r[:3] if c}
    knowledge_lower = "\n".join(" ".join(r) for r in faq_rows + gl_rows).lower() + "\n" + "\n".join(docs.values()).lower()

    absent = {q: words for _, q, words in NEAR_MISSES}
    absent.update({q: words for q, words in UNRELATED})
    absent.update({f["question"]: f["absent"] for f in FOLLOWUPS if f.get("expect_abstain")})

    counts: dict[str, int] = {}
    english_paraphrases = 0
    own_keys: set[str] = set()
    others = other_questions()
    for row in rows:
        q, kind = row["question"], row["kind"]
        counts[kind] = counts.get(kind, 0) + 1
        k = qkey(q)
        if k in own_keys:
            errors.append(f"duplicate question in this file: {q}")
        own_keys.add(k)
        if k in others:
            errors.append(f"question also in {others[k]}: {q}")
        if k in stored_q:
            errors.append(f"question repeats a stored FAQ question: {q}")
        if kind == "paraphrase" and not re.search(r"[\u4e00-\u9fff]", q):
            english_paraphrases += 1
        if kind in ("paraphrase", "near_miss") and row.get("expect_entry") not in entries:
            errors.append(f"expect_entry not a stored question: {q}")
        if row.get("expect_abstain"):
            if any(key in row for key in ("expect_route", "expect_any", "expect_contains", "expect_source")):
                errors.append(f"abstain case carries route/anchors: {q}")
            words = absent.get(q)
            if not words:
                errors.append(f"abstain case without absence key words: {q}")
            for w in words or []:
                if w.lower() in knowledge_lower:
                    errors.append(f"abstain {q!r}: key word {w!r} found in the knowledge")
            continue
        src = row.get("expect_source")
        if src not in source_text:
            errors.append(f"unknown source {src!r}: {q}")
            continue
        anchors = row.get("expect_contains", []) + row.get("expect_any", [])
        if not anchors:
            errors.append(f"no anchors: {q}")
        for a in anchors:
            sa = squash(a)
            if sa not in source_text[src]:
                errors.append(f"anchor {a!r} not in {src}: {q}")
            if row["expect_route"] == "fact":
                entry = row.get("expect_entry")
                if entry and sa not in answers[entry]:
                    errors.append(f"anchor {a!r} not in the answer of {entry}: {q}")
                owners = [e for e, ans in answers.items() if sa in ans]
                if len(owners) != 1:
                    errors.append(f"FAQ anchor {a!r} in {len(owners)} answers: {q}")
                if sa in all_docs:
                    errors.append(f"FAQ anchor {a!r} also in a document: {q}")
            elif row["expect_route"] == "doc":
                if sa in all_answers:
                    errors.append(f"doc anchor {a!r} also in the FAQ answers: {q}")
            elif row["expect_route"] == "term":
                if sa not in gl_cells:
                    errors.append(f"term anchor {a!r} is not a glossary cell: {q}")
        if kind == "followup" and not row.get("history"):
            errors.append(f"followup without history: {q}")
    if counts != EXPECTED:
        errors.append(f"counts {counts} != {EXPECTED}")
    if english_paraphrases != 5:
        errors.append(f"{english_paraphrases} English paraphrases, want 5")
    return errors


def main() -> int:
    write_faq(HERE / "faq" / FAQ_FILE)
    write_glossary(HERE / "glossary" / GLOSSARY_FILE)
    (HERE / "docs").mkdir(parents=True, exist_ok=True)
    for name, text in DOCS.items():
        (HERE / "docs" / name).write_text(text, encoding="utf-8")
    rows = case_rows()
    with open(HERE / "cases.jsonl", "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    back = [json.loads(line) for line in (HERE / "cases.jsonl").read_text(encoding="utf-8").splitlines()]
    errors = [] if back == rows else ["cases.jsonl does not read back"]
    errors += check(back)
    for e in errors:
        print("FAIL:", e)
    if errors:
        print(f"{len(errors)} problem(s)")
        return 1
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["kind"]] = counts.get(r["kind"], 0) + 1
    print(f"wrote faq/{FAQ_FILE} ({len(FAQ)} entries), glossary/{GLOSSARY_FILE} ({len(GLOSSARY)} terms), "
          f"{len(DOCS)} docs, cases.jsonl ({len(rows)} cases): {counts}; all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
