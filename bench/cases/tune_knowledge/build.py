"""Build the 青禾物流 TUNE knowledge folder and its evaluation cases.

Run from the repository root:

    python bench/cases/tune_knowledge/build.py

Writes, next to this file:
    faq/员工问答.xlsx, glossary/缩写表.xlsx, docs/*.md, cases.jsonl

All content is invented.  The script checks its own data before writing
(anchors verbatim in their source, unique questions, abstain key words
absent from the knowledge, counts, document lengths) and fails loudly
if a check does not hold.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font

HERE = Path(__file__).resolve().parent
FAQ_FILE = "员工问答.xlsx"
GLOSSARY_FILE = "缩写表.xlsx"

# ---------------------------------------------------------------------------
# 1. FAQ: (编号, 标准问题, 相似问题, 回答)
# ---------------------------------------------------------------------------
FAQ = [
    ("FAQ-001", "年假有多少天？", "带薪年假怎么算；一年能休几天年假",
     "入职满1年不满10年的员工每年享有5天带薪年假，满10年不满20年的为10天，满20年及以上的为15天。"
     "年假在“青禾OA”中提交申请，由直属主管审批。当年未休完的年假可顺延至次年3月31日，逾期作废。"),
    ("FAQ-002", "病假怎么请？", "生病了请假需要什么材料；病假工资怎么发",
     "病假需在“青禾OA”提交申请，并在返岗后3个工作日内上传二级及以上医院出具的病假证明。"
     "病假期间按本人基本工资的80%发放病假工资，且不低于当地最低工资标准的80%。"),
    ("FAQ-003", "婚假有几天？", "结婚可以休几天假；婚假怎么申请",
     "在本公司工作期间依法登记结婚的员工可享受婚假13天（含法定婚假3天和公司奖励婚假10天），"
     "婚假需在领取结婚证后12个月内一次性休完。申请时需在“青禾OA”上传结婚证照片。"),
    ("FAQ-004", "产假怎么休？", "生孩子能休多久；产假天数",
     "女员工生育可享受产假158天，其中产前可休15天；难产的增加15天，生育多胞胎的每多生育1个婴儿增加15天。"
     "产假申请需在“青禾OA”提交，并附医院出具的预产期证明。"),
    ("FAQ-005", "加班可以调休吗？", "加班后怎么换休；调休有效期多久",
     "仓库一线员工休息日加班可选择调休或领取加班费，二者只能选一。选择调休的，须在加班发生之日起3个月内休完，"
     "由班组长在排班系统“排班通”中登记，逾期未休的按加班费结算。"),
    ("FAQ-006", "加班费怎么算？", "加班工资标准；节假日加班给几倍工资",
     "工作日延长工作时间按小时工资的150%支付，休息日加班且未安排调休的按200%支付，法定节假日加班按300%支付。"
     "加班须事先在“排班通”提交加班单，并经仓储主管确认，未经确认的不计加班。"),
    ("FAQ-007", "每月几号发工资？", "工资什么时候到账；在哪看工资条",
     "公司每月15日发放上月工资，遇法定节假日或周末提前至最近的工作日发放。"
     "电子工资条可在“青禾E家”App的“我的薪资”栏目查看。"),
    ("FAQ-008", "高温补贴发多少？", "夏天有没有高温费；高温津贴标准；高温补贴几月份发",
     "每年6月1日至9月30日发放高温补贴，仓库及户外作业员工每月300元，办公室员工每月150元，随当月工资一并发放。"),
    ("FAQ-009", "夜班补贴怎么算？", "上夜班有没有补助；夜班津贴多少钱",
     "在22:00至次日6:00之间连续工作满4小时的计为1个夜班，每个夜班补贴40元。"
     "夜班天数由班组长于每月5日前汇总报人事部，随次月工资发放。"),
    ("FAQ-010", "食堂几点开饭？", "食堂营业时间；夜班有没有夜宵",
     "园区员工食堂位于C栋1楼，早餐6:30—8:30，午餐11:00—13:00，晚餐17:00—19:00，"
     "夜宵23:30—00:30，供夜班员工使用。"),
    ("FAQ-011", "餐补怎么发？", "吃饭公司有补贴吗；饭卡怎么充值",
     "公司每月1日向员工工牌内的餐卡账户充值餐补400元，仅限在园区食堂和便利店使用。"
     "当月未用完的余额可累计，离职时清零不折现；个人也可通过“青禾E家”自行充值。"),
    ("FAQ-012", "仓库排班是怎样的？", "仓库几班倒；早中夜班时间",
     "仓库实行三班倒：早班7:00—15:00，中班15:00—23:00，夜班23:00—次日7:00，班次每两周轮换一次。"
     "排班表每周五在“排班通”发布。"),
    ("FAQ-013", "可以和同事换班吗？", "想跟别人调班怎么办",
     "可以。换班需双方自愿，并至少提前24小时在“排班通”提交换班申请，由班组长审批；每人每月换班不超过3次。"),
    ("FAQ-014", "劳保用品怎么领？", "安全鞋在哪领；反光背心多久换一次",
     "新员工入职当天可在仓库劳保室免费领取防砸安全鞋1双、反光背心2件。"
     "之后每12个月可凭旧品以旧换新，破损严重的经班组长签字后可提前更换。"),
    ("FAQ-015", "安全鞋丢了怎么办？", "劳保用品遗失补领；反光背心弄丢了要赔吗",
     "劳保用品遗失需补领的，由本人承担成本费：安全鞋80元/双，反光背心20元/件，费用从当月工资中扣除。"
     "补领时在劳保室填写《劳保用品补领单》。"),
    ("FAQ-016", "叉车证到期怎么复审？", "叉车证复审流程；叉车操作证过期了怎么办",
     "叉车司机持有的《特种设备作业人员证》每4年复审一次，应在证件到期前3个月向安全管理部报名。"
     "复审费用由公司承担，复审当天按正常出勤计算工资。"),
    ("FAQ-017", "没有叉车证可以开叉车吗？", "怎么考叉车证；无证开叉车怎么处罚",
     "不可以，未取得叉车证的员工严禁驾驶叉车，首次发现罚款200元并停岗培训，再次发现解除劳动合同。"
     "想考证的员工可向班组长报名公司每年3月和9月组织的叉车培训班。"),
    ("FAQ-018", "公务用车怎么申请？", "出去办事能用公司的车吗；派车流程",
     "办公人员因公外出用车，需至少提前1个工作日在“青禾OA”提交《公务用车申请》，经部门经理审批后由行政部派车。"
     "公务车辆严禁私用，用车结束后须在2小时内交还钥匙并登记里程。"),
    ("FAQ-019", "私车公用怎么报销？", "开自己的车出去办事给补贴吗；自驾油费报销",
     "经部门经理事先批准的私车公用，按每公里1.2元标准报销油费和车辆损耗，过路费凭票另行报销。"
     "报销时须附导航路线截图。"),
    ("FAQ-020", "出差报销有什么标准？", "出差住宿标准；差旅费怎么报",
     "出差结束后10个工作日内在“费控通”系统提交差旅报销。住宿标准为一线城市每晚450元、其他城市每晚300元，"
     "超出部分由个人承担；城际交通优先乘坐高铁二等座。"),
    ("FAQ-021", "报销多久能到账？", "报销款什么时候打过来；报销审批流程",
     "报销单经部门经理和财务部审核通过后，一般在7个工作日内打入员工工资卡。审核进度可在“费控通”中查看。"),
    ("FAQ-022", "报销发票有什么要求？", "电子发票能报销吗",
     "发票抬头须为“青禾物流有限公司”，并填写公司纳税人识别号（可在“费控通”首页复制）。"
     "电子发票须上传PDF原件，不接受截图或照片，同一张发票不得重复报销。"),
    ("FAQ-023", "忘记电脑密码怎么办？", "域账号密码重置；OA登不上去了",
     "青禾OA、邮箱和电脑登录使用同一个域账号，密码每90天须修改一次。"
     "忘记密码可在自助门户“密码宝”用手机验证码重置，或拨打IT服务热线分机8200。"),
    ("FAQ-024", "新员工的电脑怎么申请？", "入职配电脑吗；办公电脑申领",
     "办公岗新员工的笔记本电脑由部门助理在其入职前3个工作日到“IT服务台”提交申请。"
     "仓库一线员工不单独配发电脑，可使用仓库休息区的公共终端。"),
    ("FAQ-025", "电脑坏了怎么报修？", "电脑故障找谁；笔记本送修期间用什么",
     "在“IT服务台”提交报修工单，IT工程师会在4小时内响应。需要送修的，可向IT部借用备用笔记本，最长借用14天。"),
    ("FAQ-026", "PDA丢了怎么办？", "手持终端遗失；扫描枪找不到了",
     "手持终端（PDA）遗失须在2小时内报告班组长和IT部，IT部将远程锁定设备并注销登录账号。"
     "经核实属个人保管不当的，按设备残值赔偿。"),
    ("FAQ-027", "工牌丢了怎么补办？", "工卡遗失；门禁卡掉了；工牌补办要多少钱",
     "工牌遗失应立即在“青禾E家”App挂失，再到园区行政服务中心补办，工本费20元，一般2个工作日后领取。"
     "挂失前被他人盗刷的餐费由本人承担。"),
    ("FAQ-028", "员工的车可以停在园区吗？", "私家车停哪里；园区停车收费吗",
     "员工私家车可在园区P2停车场免费停放，需提前在“青禾E家”登记车牌号，道闸自动识别车牌放行。"
     "P1停车场仅供货车和访客车辆使用。"),
    ("FAQ-029", "怎么申请员工宿舍？", "公司提供住宿吗；宿舍费用多少",
     "家庭住址距工作园区超过15公里的员工可申请员工宿舍，宿舍为4人间，住宿费每人每月150元，水电费按实际用量分摊。"
     "申请在“青禾E家”的“宿舍服务”中提交，由行政部统一分配。"),
    ("FAQ-030", "宿舍可以调换吗？", "换宿舍流程；想换个房间",
     "入住满3个月后可申请调换宿舍，每年最多调换1次，需经宿管员同意。"
     "搬离原宿舍前须到宿管处办理退房检查，损坏公物的照价赔偿。"),
    ("FAQ-031", "宿舍几点关门？", "宿舍门禁时间；宿舍能留宿朋友吗",
     "宿舍楼每晚23:30锁闭大门，夜班员工凭工牌刷卡进出。"
     "宿舍内严禁留宿外来人员，违反者第一次书面警告，第二次取消住宿资格。"),
    ("FAQ-032", "外部培训费用能报销吗？", "考证费公司出吗；参加外部课程报销",
     "参加与岗位相关的外部培训或职业资格考试，经部门经理事先批准后，公司报销全部费用。"
     "单次费用超过5000元的，需签订服务期协议，服务期为2年。"),
    ("FAQ-033", "线上学习有什么要求？", "青禾学堂学时要求；每年要学多少课程",
     "每位员工每年需在“青禾学堂”完成不少于24学时的线上课程，其中安全类课程不少于8学时。"
     "学时完成情况纳入年度绩效考核。"),
    ("FAQ-034", "离职要提前多久申请？", "辞职流程；离职手续怎么办",
     "试用期员工需提前3天、正式员工需提前30天在“青禾OA”提交离职申请。"
     "最后工作日前须完成工作交接，归还工牌、PDA和劳保用品，并到人事部签署《离职交接确认单》。"),
    ("FAQ-035", "在职证明怎么开？", "开在职证明要多久；办贷款要在职证明去哪开",
     "在职证明可在“青禾E家”App的“证明开具”中申请，人事部在1个工作日内盖章。"
     "可选择到人事部自取纸质版，或在App中下载电子版。"),
    ("FAQ-036", "公司交五险一金吗？", "社保从什么时候开始交；公积金比例多少",
     "公司自员工入职当月起缴纳五险一金，住房公积金缴存比例为个人和公司各7%。"
     "缴费基数每年7月调整一次，缴纳明细可在“青禾E家”的“社保公积金”栏目查询。"),
    ("FAQ-037", "公司有商业保险吗？", "补充医疗保险怎么报；看病报销",
     "公司为全体正式员工购买补充医疗保险和意外险，门诊自付部分报销80%，每人每年报销上限5000元。"
     "理赔材料交人事部保险专员，每月20日统一提交保险公司。"),
    ("FAQ-038", "工作中受伤了怎么办？", "工伤怎么处理；在仓库受伤了",
     "工作中受伤应立即报告班组长，由安全管理部在24小时内填写《事故报告单》。"
     "人事部在事故发生后30日内提交工伤认定申请，医疗费用按工伤保险规定报销。"),
    ("FAQ-039", "公司有年度体检吗？", "",
     "公司每年10月组织年度体检，费用由公司承担，体检机构和时间由人事部统一安排。"
     "叉车司机和夜班员工另外加做职业健康检查。"),
    ("FAQ-040", "内推有奖励吗？", "",
     "内推一线岗位员工入职满3个月奖励800元，内推办公岗位员工入职满6个月奖励2000元，奖金随次月工资发放。"
     "被推荐人须在“青禾E家”填写推荐人工号。"),
]

# ---------------------------------------------------------------------------
# 2. Glossary: (缩写, 英文全称, 中文名称, 说明)
# ---------------------------------------------------------------------------
GLOSSARY = [
    ("WMS", "Warehouse Management System", "仓储管理系统",
     "公司自研的仓储系统，内部称“青仓”，覆盖收货、上架、拣货、复核、出库全流程。"),
    ("TMS", "Transportation Management System", "运输管理系统",
     "用于运输订单派车、线路规划和在途跟踪，由运输部调度中心使用。"),
    ("YMS", "Yard Management System", "园区月台管理系统",
     "管理车辆入园排队、月台预约和装卸时长，司机到园区门岗自助机签到后进入排队。"),
    ("RDC", "Regional Distribution Center", "区域配送中心",
     "公司在省内设有3个区域配送中心，负责向城区前置仓补货。"),
    ("FDC", "Forward Distribution Center", "前置仓",
     "设在城区、面向末端配送的小型仓库，面积一般在2000平方米以内。"),
    ("ASN", "Advance Shipping Notice", "预到货通知",
     "客户或供应商发货前在WMS中提交的到货预报，仓库据此预约收货月台。"),
    ("GRN", "Goods Received Note", "收货单",
     "货物清点入库后由WMS生成的单据，是与客户结算入库操作费的依据。"),
    ("DN", "Delivery Note", "发货单", "随货同行的出库单据，一式三联。"),
    ("POD", "Proof of Delivery", "签收回单",
     "收货方签字盖章的回单，驾驶员须在送达后48小时内交回车队。"),
    ("LPN", "License Plate Number", "托盘标签号",
     "贴在托盘或周转箱上的唯一条码，用于在WMS中追踪整托货物。"),
    ("QSC", "Qinghe SKU Code", "青禾货品编码",
     "公司内部统一的12位货品编码，前3位为客户代码。"),
    ("QLC", "Qinghe Loading Checklist", "青禾装车检查表",
     "驾驶员出车前和装车后填写的检查表，可填纸质版或在TMS中填电子版。"),
    ("QCR", "Quality Check Report", "质检报告",
     "对入库货物抽检后出具的报告，抽检比例一般为5%。"),
    ("OTD", "On-Time Delivery", "准时交付率",
     "按时送达的运单数占总运单数的比例，是车队月度考核指标。"),
    ("VMI", "Vendor Managed Inventory", "供应商管理库存",
     "由供应商根据库存数据自行决定补货的合作模式，公司为部分快消品客户提供该服务。"),
    ("SOP", "Standard Operating Procedure", "标准作业程序",
     "各岗位的标准作业指导文件，存放在“青禾学堂”的制度文库中。"),
    ("WS", "Warehouse Supervisor", "仓储主管",
     "负责一个仓库的日常运营和安全管理，下辖若干班组长。"),
    ("TL", "Team Leader", "班组长",
     "负责一个班次的人员安排、任务分配和考勤，一般管理10至20人。"),
    ("DSP", "Dispatch Specialist", "调度专员",
     "隶属运输部调度中心，负责车辆派单和在途异常处理。"),
    ("CSA", "Customer Service Associate", "客服专员",
     "负责客户订单咨询、异常件登记和理赔受理。"),
    ("HSE", "Health, Safety and Environment", "安全健康环保",
     "公司的安全健康环保管理体系，由安全管理部归口管理。"),
    ("MDT", "Mobile Data Terminal", "车载终端",
     "安装在货车上的定位与通讯设备，与TMS实时同步车辆位置。"),
    ("PDA", "Personal Digital Assistant", "手持终端",
     "仓库员工用于扫码收货、拣货和盘点的手持设备，须在班组长处登记领用。"),
    ("QHE", "Qinghe E-Home", "青禾E家",
     "公司员工自助服务App，提供工资条查询、证明开具、宿舍服务等功能。"),
    ("FCS", "Fee Control System", "费控通", "公司的费用报销与预算控制系统。"),
]

# ---------------------------------------------------------------------------
# 3. Documents (Markdown). Facts here are not repeated in the FAQ answers.
# ---------------------------------------------------------------------------
DOCS = {
    "仓库安全操作规程.md": """\
# 青禾物流有限公司 仓库安全操作规程

文件编号：QH-AQ-02　　归口部门：安全管理部

## 一、适用范围与职责

本规程适用于公司所有仓库、月台及园区内的装卸作业区域。所有进入作业区的员工、外包人员及承运商司机均须遵守。安全管理部负责本规程的解释和监督检查，各仓库的仓储主管为本仓库安全第一责任人，班组长负责本班次的现场安全。

## 二、作业区通行

1. 作业区地面以黄色标线划分人行通道和车行通道，步行人员必须走人行通道，不得横穿货架巷道。
2. 叉车在库内行驶速度不得超过每小时5公里，在园区道路上不得超过每小时10公里；转弯、出入库门时须鸣笛减速。
3. 叉车空载行驶时货叉离地高度保持在15至20厘米之间，严禁货叉载人，严禁任何人在升起的货叉下方站立或通过。
4. 主消防通道宽度不得小于4米，任何时候不得在消防通道内堆放货物或停放叉车。

## 三、货物堆码

1. 地面堆码高度不得超过2.5米，且不得超过货物外包装上标示的堆码层数限制。
2. 货架每层承重以货架立柱上的限重标牌为准，标准托盘位单位承重不超过1000公斤，超重货物须放在最底层。
3. 货物与灯具的距离不少于0.5米，与墙面的距离不少于0.3米，与消防喷淋头的距离不少于0.5米。
4. 破损、渗漏的货物应立即移至隔离区，并由仓管员在WMS中标记为“异常库存”，不得与正常货物混放。

## 四、月台装卸

1. 车辆靠台后，司机须拉起手刹、熄火，并将车钥匙交月台管理员保管，装卸完毕后再归还。
2. 装卸前必须在车辆后轮放置轮挡，并确认登车桥已搭稳，登车桥最大承载以铭牌为准。
3. 装卸过程中，任何人员不得站在车厢与月台之间的缝隙处，不得攀爬车厢栏板。
4. 人工搬运单件货物超过25公斤的，须两人合抬或使用搬运工具。

## 五、高处作业与特殊作业

1. 在2米及以上高处作业须系好安全带，并有至少1名监护人在场。
2. 仓库内动火作业（如焊接、切割）须提前48小时向安全管理部申请《动火作业许可证》，作业现场须配备2具灭火器并设专人看火，作业结束后看火人须继续留守30分钟。
3. 电动叉车须在指定充电区充电，充电区10米范围内严禁烟火；充电期间由当班人员每30分钟巡查一次。
4. 外包单位进场施工前，须由安全管理部进行现场安全交底，并签署《外包作业安全协议》。

## 六、消防与应急

1. 每个仓库每半年至少组织1次消防疏散演练，新员工入职后的首次演练必须参加。
2. 灭火器每月由仓库安全员检查1次，并在检查卡上签字；压力指针不在绿区的应立即更换。
3. 发生火情时，第一发现人应立即按下最近的手动报警按钮，并拨打园区应急分机8119报告位置和火情。
4. 疏散时不得乘坐货梯，全体人员到园区东门广场集合，由班组长清点人数后报告仓储主管。

## 七、违规处理

安全员在巡查中发现违规行为的，视情节开具“安全黄牌”或“安全红牌”。一个自然年内累计3张黄牌视同1张红牌。获得红牌者须停岗参加为期2天的安全复训，并取消当季度安全奖；造成事故的，另按公司奖惩制度处理。
""",
    "车辆调度管理办法.md": """\
# 青禾物流有限公司 车辆调度管理办法

文件编号：QH-YS-05　　归口部门：运输部

## 第一章 总则

第一条　为规范公司自有车辆及外协车辆的调度，提高车辆利用率，保障运输安全，制定本办法。本办法适用于干线运输和城市配送车辆。

第二条　运输部调度中心负责全公司车辆的统一调度，调度专员按片区分工，车队长负责本车队驾驶员和车辆的日常管理。

## 第二章 用车计划与派单

第三条　各仓库须于每日15:00前在TMS中提交次日用车需求，调度专员于每日17:00前发布次日排车计划。

第四条　当日临时加急用车须至少提前2小时提交，由调度中心主任审批；每个仓库每月加急单不超过10单，超出部分的费用计入该仓库成本。

第五条　派单遵循“先满载、后就近”的原则。车辆装载率低于60%的线路，须经调度中心主任同意方可发车。

第六条　外协车辆仅在自有车辆不足时使用，由调度专员在合格承运商名录中选择，单次外协运费超过8000元的须报运输部经理审批。

## 第三章 出车与在途管理

第七条　驾驶员出车前须完成“出车三检”，即检查轮胎、灯光和制动，并填写装车检查表，检查不合格的车辆不得出车。

第八条　车辆在途由TMS通过车载终端实时定位。车辆偏离规划线路超过3公里，或停车超过40分钟未报备的，系统自动向调度专员报警，调度专员须在10分钟内联系驾驶员核实。

第九条　驾驶员连续驾驶不得超过4小时，每次停车休息不少于20分钟；每日累计驾驶时间不得超过8小时。凌晨0:00至5:00仍在行驶的干线车辆须安排两名驾驶员轮换驾驶。

第十条　货物送达后，驾驶员须取得收货方签字盖章的回单，并拍照上传TMS；回单原件按规定时限交回车队。

## 第四章 车辆保养与油卡

第十一条　自有车辆每行驶1万公里或满6个月（以先到者为准）进行一次例行保养，保养须在公司指定的合作修理厂进行，保养记录录入TMS车辆档案。

第十二条　每辆车配备1张专用油卡，仅限该车加油使用。加油后须在TMS上传加油小票照片，车队长每月3日前完成上月油卡对账。

## 第五章 交通事故处理

第十三条　发生交通事故时，驾驶员应立即停车、开启危险报警闪光灯，并在车后方设置警示标志；无人员伤亡的，须在30分钟内向调度专员报告，车队长应赶赴现场协助处理。

第十四条　因驾驶员负全部责任造成的事故，车辆维修费用在保险理赔后的差额部分由驾驶员承担20%，单次最高不超过3000元。

## 第六章 考核

第十五条　调度中心按月统计各车队的准时交付率，低于95%的车队取消当月车队长绩效奖金；连续3个月达到99%以上的车队给予通报表扬。

第十六条　本办法由运输部负责解释，自发布之日起施行。
""",
    "新员工培训手册.md": """\
# 青禾物流有限公司 新员工培训手册

欢迎加入青禾物流！本手册介绍新员工入职第一周的报到、培训和考核安排，请在报到前认真阅读。

## 一、报到

入职第一天请于8:30到园区A栋1楼人力资源部报到。报到时请携带以下材料：

- 身份证原件及复印件2份；
- 近期一寸白底照片2张；
- 本人名下的银行卡，用于发放工资；
- 最高学历证书原件，核对后当场退还。

报到当天人力资源部会发放《员工手册》和培训日程表。入职第2天，新员工将收到含工号和初始密码的短信，初始密码在首次登录后须立即修改。

## 二、培训安排

一线岗位（仓储、分拣、装卸）新员工的入职培训共5天：前2天为集中理论培训，后3天为跟岗实操培训。办公岗位新员工的入职培训共2天，以集中培训为主。

集中培训在园区B栋3楼“青禾培训中心”进行，每天9:00开始，请提前10分钟签到。培训期间统一着装，无需穿戴劳保用品。

集中培训的主要内容包括：

1. 公司简介、组织架构与企业文化；
2. 三级安全教育（公司级、部门级、班组级），累计不少于32学时；
3. 仓储系统与手持终端操作实训；
4. 消防器材使用与应急疏散；
5. 职业礼仪与客户服务基础；
6. 常见货损类型识别与异常上报流程。

## 三、带教师傅制度

每名一线新员工由班组长指定1名带教师傅，带教期为1个月。带教师傅须在本岗位工作满1年，且近一年内没有安全红牌记录。带教期间，新员工不得单独进行叉车作业或登高作业。带教期满且新员工考核合格的，带教师傅可获得带教津贴300元/人，随下月工资发放。

## 四、培训考核

集中理论培训结束后进行闭卷考试，满分100分，80分为及格。不及格的可在7天内补考1次；补考仍不及格的，暂不安排上岗，由人力资源部与用人部门协商调整岗位。

跟岗实操由带教师傅和班组长共同评分，评分项目包括作业规范、作业效率和安全意识三部分，评定为“可独立上岗”后方可独立作业。考核结果存入员工培训档案，作为后续岗位调整和技能等级评定的参考。

## 五、日常行为规范

1. 每个班次开始前15分钟到岗，参加班前会，由班组长布置当班任务和安全提醒。
2. 作业区内禁止使用个人手机拍照或录像，如需拍摄货物异常，请使用手持终端的拍照功能。
3. 园区内全面禁烟，吸烟请到园区北侧的指定吸烟亭。
4. 贵重物品请放入更衣室个人储物柜，储物柜钥匙遗失的，由本人承担换锁费用。

## 六、培训联系人

培训期间如有疑问，请联系人力资源部培训专员，内线分机8305；也可直接询问本班次的班组长。祝你在青禾工作顺利！
""",
}

# ---------------------------------------------------------------------------
# 4. Cases
# ---------------------------------------------------------------------------
# FAQ paraphrases: (FAQ 编号, question, anchors verbatim from that 回答)
FACT_CASES = [
    ("FAQ-001", "我入职刚满两年，一年能休几天带薪假？", ["5天带薪年假"]),
    ("FAQ-001", "去年攒下的假没休完，今年还能用吗，能用到什么时候", ["次年3月31日"]),
    ("FAQ-002", "发烧在家躺了两天，回去上班以后医院的假条要几天内交上去？", ["3个工作日内"]),
    ("FAQ-003", "下个月领证，公司给放几天假", ["13天"]),
    ("FAQ-003", "I registered my marriage last spring. How long after getting the certificate can I still take the wedding leave?", ["12个月内"]),
    ("FAQ-004", "我怀孕了，想问下生完宝宝一共能在家待多久", ["158天"]),
    ("FAQ-005", "周六在仓库干了一整天，想换成补休，要在多久之内用掉？", ["3个月内"]),
    ("FAQ-006", "五一被叫回来上班，工钱按几倍给", ["300%"]),
    ("FAQ-007", "薪水一般哪天打到卡里", ["每月15日"]),
    ("FAQ-007", "Where can I see my payslip?", ["我的薪资"]),
    ("FAQ-008", "坐办公室的夏天也有高温费吗，给多少", ["办公室员工每月150元"]),
    ("FAQ-009", "上一个大夜能多拿多少钱", ["40元"]),
    ("FAQ-010", "吃饭的地方在哪栋楼", ["C栋1楼"]),
    ("FAQ-011", "饭卡里的钱月底没花完会不会清掉", ["可累计"]),
    ("FAQ-011", "How much meal money does the company put on my badge every month?", ["400元"]),
    ("FAQ-012", "中班是几点到几点", ["15:00—23:00"]),
    ("FAQ-013", "跟同事调个班，一个月最多能调几回", ["3次"]),
    ("FAQ-014", "新来的，那个防砸的鞋子去哪里拿", ["仓库劳保室"]),
    ("FAQ-015", "我的安全鞋找不到了，再领一双要自己掏钱吗", ["80元"]),
    ("FAQ-016", "叉车操作证快到期了，应该提前多久去报名", ["到期前3个月", "向安全管理部报名"]),
    ("FAQ-016", "Who pays for the forklift certificate re-examination, me or the company?", ["复审费用由公司承担"]),
    ("FAQ-017", "还没考下证，临时帮忙开一下叉车行不行", ["严禁驾驶叉车", "200元"]),
    ("FAQ-018", "去客户那开会想用单位的车，要提前多久申请", ["提前1个工作日"]),
    ("FAQ-019", "开自己的车去送材料，一公里给多少钱", ["1.2元"]),
    ("FAQ-020", "去上海出差酒店一晚能报多少", ["450元"]),
    ("FAQ-021", "After my expense claim is approved, how long until the money arrives?", ["7个工作日内"]),
    ("FAQ-022", "电子发票截个图上传可以吗", ["PDF原件"]),
    ("FAQ-023", "邮箱进不去了，好像是密码过期了，怎么弄", ["密码宝", "8200"]),
    ("FAQ-024", "我下周一入职办公室岗位，笔记本谁帮我申请？", ["部门助理"]),
    ("FAQ-025", "笔记本屏幕一直闪要拿去修，修的这段时间有没有机器用", ["备用笔记本", "14天"]),
    ("FAQ-026", "扫货用的那个手持机不见了，多久内必须上报", ["2小时内报告班组长"]),
    ("FAQ-027", "I lost my staff badge. How much does a replacement cost?", ["工本费20元"]),
    ("FAQ-028", "我开车上班，车停哪里，要收费吗", ["P2停车场", "免费停放"]),
    ("FAQ-029", "我家离园区二十多公里，住公司的房子一个月多少钱", ["每人每月150元"]),
    ("FAQ-030", "我下周要搬宿舍，走之前要办什么手续", ["退房检查"]),
    ("FAQ-031", "上完夜班回去宿舍大门锁了怎么进", ["凭工牌刷卡"]),
    ("FAQ-032", "If I take an external course that costs 6000 yuan, do I have to sign anything?", ["服务期协议", "2年"]),
    ("FAQ-033", "每年在线上平台要刷够多少课时", ["24学时"]),
    ("FAQ-034", "转正后不想干了，要提前多久跟公司说", ["30天"]),
    ("FAQ-035", "办信用卡要一份盖章的工作证明，多久能拿到", ["1个工作日内"]),
    ("FAQ-036", "公积金公司交百分之几", ["7%"]),
    ("FAQ-037", "Does the company cover outpatient costs, and up to how much per year?", ["每人每年报销上限5000元", "报销80%"]),
    ("FAQ-038", "搬货的时候把腰扭了，事故报告谁来填", ["安全管理部在24小时内", "事故报告单"]),
    ("FAQ-039", "每年体检大概几月份", ["10月"]),
    ("FAQ-040", "介绍老乡来仓库上班，能拿多少奖金", ["800元"]),
]

# Near misses: (question, key words absent from ALL knowledge, {scope: words absent there})
# scope is a FAQ 编号 (that entry's questions + answer) or "docs" (all documents).
NEAR_MISS_CASES = [
    ("家里老人去世了，能请几天假回去办后事？", ["丧"], {}),
    ("老婆下个月生孩子，男员工有没有假可以休？", ["陪产", "护理假", "男员工"], {}),
    ("探亲假一年有几天？", ["探亲"], {}),
    ("我走的时候公司能给开离职证明吗，要多久", ["离职证明"], {}),
    ("办贷款要收入证明，去哪里开？", ["收入证明"], {}),
    ("货车司机的驾驶证快到期了，换证的费用公司给报吗？", ["驾驶证", "驾照", "换证"], {}),
    ("年假要提前几天申请？", [], {"FAQ-001": ["提前"], "docs": ["年假"]}),
    ("婚假期间工资照发吗？", [], {"FAQ-003": ["工资", "薪"], "docs": ["婚假"]}),
    ("产检可以请假吗，有几天？", ["产检"], {}),
    ("冬天仓库冷，有没有防寒补贴？", ["防寒", "取暖", "低温"], {}),
    ("防护手套多久发一次？", ["手套"], {}),
    ("打车去客户那里，车费能报吗？", ["打车", "出租车", "网约车"], {}),
    ("出差一天的伙食补助是多少？", ["伙食", "出差补助", "餐费补助"], {}),
    ("停车卡丢了去哪补？", ["停车卡"], {}),
    ("办公室能申请第二块显示器吗？", ["显示器"], {}),
    ("年终奖一般几月发？", ["年终奖"], {}),
    ("公积金能取出来交房租吗？", ["房租", "提取"], {}),
    ("试用期公司可以延长吗？", ["延长试用期", "试用期延长"], {"FAQ-034": ["延长"], "docs": ["试用期"]}),
]

# Unanswerable: (question, key words absent from all knowledge)
UNANSWERABLE_CASES = [
    ("公司给员工发股票期权吗？", ["期权", "股票"]),
    ("今年团建去哪儿玩？", ["团建"]),
    ("冷链仓的温度一般控制在多少度？", ["冷链", "温度"]),
    ("ERP里怎么导出月度库存周转报表？", ["ERP", "周转报表"]),
    ("我的KPA考核表在哪儿提交？", ["KPA"]),
    ("单据上写着QHX-9，这是啥意思？", ["QHX"]),
    ("CRM账号找谁开通？", ["CRM"]),
    ("出口货物的报关单怎么填？", ["报关"]),
    ("今天天气怎么样？", ["天气"]),
    ("你好呀，你是谁？", ["你是谁"]),
    ("好的谢谢，辛苦啦", ["辛苦"]),
    ("给我讲个笑话吧", ["笑话"]),
    ("中国最长的河流是哪条？", ["河流", "长江"]),
    ("一公斤等于多少磅？", ["磅"]),
    ("公司总经理叫什么名字？", ["总经理"]),
    ("公司去年营收多少？", ["营收", "营业收入"]),
    ("工会会费每月扣多少？", ["工会", "会费"]),
    ("仓库里可以养猫吗？", ["猫"]),
    ("What is the capital of Australia?", ["Australia", "澳大利亚"]),
    ("Is there a gym membership subsidy for employees?", ["gym", "健身"]),
    ("How do I get the company to sponsor my work visa?", ["visa", "签证"]),
    ("Can you recommend a good hotpot place near the warehouse?", ["hotpot", "火锅"]),
]

# Document questions: (doc file name, question, anchors verbatim from that doc)
DOC_CASES = [
    ("仓库安全操作规程.md", "库里开叉车最快能开多快", ["每小时5公里"]),
    ("仓库安全操作规程.md", "仓库里要焊东西，得提前多久跟谁申请", ["提前48小时", "动火作业许可证"]),
    ("仓库安全操作规程.md", "一年里被开了三张黄牌会怎么样", ["2天的安全复训"]),
    ("仓库安全操作规程.md", "货直接堆在地上最高能堆多高", ["2.5米"]),
    ("仓库安全操作规程.md", "着火疏散的时候大家到哪里集合", ["东门广场"]),
    ("车辆调度管理办法.md", "仓库要给明天排货车，用车需求最晚几点前要报上去", ["15:00前"]),
    ("车辆调度管理办法.md", "货车偏离路线多远系统会报警", ["3公里"]),
    ("车辆调度管理办法.md", "司机连续开多久必须停下来休息", ["连续驾驶不得超过4小时", "20分钟"]),
    ("车辆调度管理办法.md", "公司自己的货车多久做一次保养", ["1万公里"]),
    ("车辆调度管理办法.md", "出了事故司机全责的话自己要掏多少修车钱", ["20%", "3000元"]),
    ("新员工培训手册.md", "第一天报到要带几张照片", ["一寸白底照片2张"]),
    ("新员工培训手册.md", "仓库岗的新人入职培训一共几天", ["共5天"]),
    ("新员工培训手册.md", "入职培训考试多少分算过", ["80分"]),
    ("新员工培训手册.md", "带新人的师傅有没有额外的钱", ["带教津贴300元"]),
    ("新员工培训手册.md", "每天上班要提前多久到岗开班前会", ["15分钟"]),
]

# Glossary questions: (question, strings verbatim from the glossary)
TERM_CASES = [
    ("WMS是个什么系统？", ["仓储管理系统"]),
    ("What does TMS stand for?", ["Transportation Management System"]),
    ("调度群里老说DSP，指的是哪个岗位", ["调度专员"]),
    ("托盘上贴的LPN是什么", ["托盘标签号"]),
    ("QLC表是啥", ["青禾装车检查表"]),
    ("司机说要交POD，这是什么东西", ["签收回单"]),
    ("ASN的英文全称是什么", ["Advance Shipping Notice"]),
    ("What is an RDC in our company?", ["Regional Distribution Center"]),
    ("OTD这个指标是什么意思", ["准时交付率"]),
    ("HSE是哪几个词的缩写", ["Health, Safety and Environment"]),
    ("What is QHE?", ["青禾E家"]),
    ("收货以后系统出的GRN是什么单子", ["收货单"]),
]

EXPECTED_COUNTS = {"fact": 45, "near_miss": 18, "unanswerable": 22, "doc": 15, "term": 12}


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------
def squash(text: str) -> str:
    """Remove all whitespace (anchor checks ignore whitespace)."""
    return re.sub(r"\s+", "", text)


def cjk_count(text: str) -> int:
    return len(re.findall(r"[\u4e00-\u9fff]", text))


def faq_text(entry) -> str:
    return " ".join(entry[1:])


def all_knowledge_text() -> str:
    parts = [faq_text(e) for e in FAQ]
    parts += [" ".join(g) for g in GLOSSARY]
    parts += list(DOCS.values())
    return "\n".join(parts)


def check() -> None:
    faq_by_id = {e[0]: e for e in FAQ}
    assert len(FAQ) == 40 and len(faq_by_id) == 40, "need 40 unique FAQ ids"
    assert len({e[1] for e in FAQ}) == 40, "FAQ standard questions must be unique"
    for e in FAQ:
        sims = [s for s in e[2].split("；") if s]
        assert len(sims) <= 3, e[0]
        assert all(s.strip() == s and s for s in sims), e[0]
    assert len(GLOSSARY) == 25 and len({g[0] for g in GLOSSARY}) == 25
    for name, text in DOCS.items():
        n = cjk_count(text)
        assert 800 <= n <= 1500, f"{name}: {n} Chinese characters"

    # anchors verbatim in their own source
    doc_answers_squashed = squash("\n".join(DOCS.values()))
    faq_answers_squashed = squash("\n".join(e[3] for e in FAQ))
    for fid, q, anchors in FACT_CASES:
        assert fid in faq_by_id, fid
        assert 1 <= len(anchors) <= 3, q
        for a in anchors:
            assert squash(a) in squash(faq_by_id[fid][3]), f"{fid}: anchor {a!r} not in answer"
            assert squash(a) not in doc_answers_squashed, f"FAQ anchor {a!r} also in a document"
            others = [e[0] for e in FAQ if e[0] != fid and squash(a) in squash(e[3])]
            assert not others, f"{fid}: anchor {a!r} also in {others}"
    for name, q, anchors in DOC_CASES:
        assert 1 <= len(anchors) <= 2, q
        for a in anchors:
            assert squash(a) in squash(DOCS[name]), f"{name}: anchor {a!r} missing"
            assert squash(a) not in faq_answers_squashed, f"doc anchor {a!r} also in FAQ answers"
    for _question, contains in TERM_CASES:
        for c in contains:
            assert any(squash(c) == squash(cell) for g in GLOSSARY for cell in g[1:3]), \
                f"glossary anchor {c!r} is not a name cell"

    # abstain questions: key words absent from the knowledge
    knowledge = all_knowledge_text().lower()
    docs_text = "\n".join(DOCS.values()).lower()
    for q, words, scoped in NEAR_MISS_CASES:
        assert words or scoped, f"no absence check for {q}"
        for w in words:
            assert w.lower() not in knowledge, f"near miss {q!r}: {w!r} found in knowledge"
        for scope, ws in scoped.items():
            text = docs_text if scope == "docs" else faq_text(faq_by_id[scope]).lower()
            for w in ws:
                assert w.lower() not in text, f"near miss {q!r}: {w!r} found in {scope}"
    for q, words in UNANSWERABLE_CASES:
        assert words, q
        for w in words:
            assert w.lower() not in knowledge, f"unanswerable {q!r}: {w!r} found in knowledge"

    # questions unique (also against FAQ standard / similar questions)
    questions = ([c[1] for c in FACT_CASES] + [c[0] for c in NEAR_MISS_CASES]
                 + [c[0] for c in UNANSWERABLE_CASES] + [c[1] for c in DOC_CASES]
                 + [c[0] for c in TERM_CASES])
    assert len(questions) == len(set(questions)), "duplicate question"
    stored = {e[1] for e in FAQ} | {s for e in FAQ for s in e[2].split("；") if s}
    clash = stored & set(questions)
    assert not clash, f"case repeats a stored question: {clash}"

    counts = {"fact": len(FACT_CASES), "near_miss": len(NEAR_MISS_CASES),
              "unanswerable": len(UNANSWERABLE_CASES), "doc": len(DOC_CASES),
              "term": len(TERM_CASES)}
    assert counts == EXPECTED_COUNTS, counts


def is_english(q: str) -> bool:
    return not re.search(r"[\u4e00-\u9fff]", q)


def case_rows() -> list[dict]:
    rows = []
    for _, q, anchors in FACT_CASES:
        rows.append({"question": q, "expect_route": "fact", "expect_any": anchors,
                     "expect_source": FAQ_FILE, "expect_abstain": False})
    for q, _, _ in NEAR_MISS_CASES:
        rows.append({"question": q, "expect_abstain": True})
    for q, _ in UNANSWERABLE_CASES:
        rows.append({"question": q, "expect_abstain": True})
    for name, q, anchors in DOC_CASES:
        rows.append({"question": q, "expect_route": "doc", "expect_any": anchors,
                     "expect_source": name, "expect_abstain": False})
    for q, contains in TERM_CASES:
        rows.append({"question": q, "expect_route": "term", "expect_contains": contains,
                     "expect_source": GLOSSARY_FILE, "expect_abstain": False})
    return rows


def write_xlsx(path: Path, title: str, headers: list[str], rows: list[tuple], widths: list[int]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = Workbook()
    ws = wb.active
    ws.title = title
    ws.append(headers)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append(list(row))
    for i, w in enumerate(widths):
        ws.column_dimensions[chr(ord("A") + i)].width = w
    wb.save(path)


def main() -> None:
    check()

    faq_path = HERE / "faq" / FAQ_FILE
    glossary_path = HERE / "glossary" / GLOSSARY_FILE
    write_xlsx(faq_path, "员工问答", ["编号", "标准问题", "相似问题", "回答"], FAQ, [10, 28, 48, 100])
    write_xlsx(glossary_path, "缩写表", ["缩写", "英文全称", "中文名称", "说明"], GLOSSARY, [8, 36, 18, 70])

    docs_dir = HERE / "docs"
    docs_dir.mkdir(parents=True, exist_ok=True)
    for name, text in DOCS.items():
        (docs_dir / name).write_text(text, encoding="utf-8")

    rows = case_rows()
    with open(HERE / "cases.jsonl", "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")

    # read back
    for path, n in ((faq_path, 40), (glossary_path, 25)):
        ws = load_workbook(path, read_only=True).active
        assert sum(1 for _ in ws.iter_rows(min_row=2)) == n, path
    back = [json.loads(line) for line in open(HERE / "cases.jsonl", encoding="utf-8")]
    assert back == rows

    english = {
        "fact": sum(is_english(c[1]) for c in FACT_CASES),
        "unanswerable": sum(is_english(c[0]) for c in UNANSWERABLE_CASES),
        "term": sum(is_english(c[0]) for c in TERM_CASES),
    }
    print(f"wrote {faq_path.relative_to(HERE)} ({len(FAQ)} entries), "
          f"{glossary_path.relative_to(HERE)} ({len(GLOSSARY)} terms), "
          f"{len(DOCS)} docs, cases.jsonl ({len(rows)} cases)")
    print("doc Chinese characters:", {k: cjk_count(v) for k, v in DOCS.items()})
    print("counts:", {k: v for k, v in EXPECTED_COUNTS.items()}, "english:", english)


if __name__ == "__main__":
    main()
