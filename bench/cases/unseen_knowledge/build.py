"""Build an unseen knowledge folder and its cases, for generality checks.

The organisation is fictional: 远桥语言服务有限公司, a translation and conference
interpreting company (nothing to do with the sample company 星河电子). Run from
the repository root:

    python bench/cases/unseen_knowledge/build.py

It writes, next to this file:
    glossary/术语.xlsx   all 80 rows of the public abbreviation list
                          (shared/benchmarks/glossary/waiyuci-batches-1-6.tsv,
                          copied below), with header words the sample glossary
                          does not use (外语缩写 / 英文名称 / 中文译名 / 其他译名)
    faq/问答.xlsx         30 invented FAQ entries (类别 / 问题 / 相似问法 / 答案)
    docs/*.md             3 short invented documents
    cases.jsonl           evaluation cases over this folder (measure only; do not tune on them)
"""
import json
import pathlib

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

HERE = pathlib.Path(__file__).resolve().parent

# The public list "推荐使用外语词中文译名表", batches 1-6, exactly as in
# shared/benchmarks/glossary/waiyuci-batches-1-6.tsv (batch, abbreviation,
# english, chinese, chinese_alt). Empty abbreviations and symbols are kept.
WAIYUCI_TSV = """\
1	AIDS	acquired immunodeficiency syndrome	艾滋病	
1	E-mail	electronic mail	电子邮件	电邮
1	GDP	gross domestic product	国内生产总值	
1	IQ	intelligence quotient	智商	
1	IT	information technology	信息技术	
1	OECD	Organization for Economic Co-operation and Development	经济合作与发展组织	经合组织
1	OPEC	Organization of the Petroleum Exporting Countries	石油输出国组织	欧佩克
1	PM2.5	particulate matter	细颗粒物	
1	WHO	World Health Organization	世界卫生组织	世卫组织
1	WTO	World Trade Organization	世界贸易组织	世贸组织
2	UN	United Nations	联合国	
2	UNGA	United Nations General Assembly	联合国大会	联大
2		United Nations Secretariat	联合国秘书处	
2	UNICJ	United Nations International Court of Justice	联合国国际法院	国际法院
2	UNCTAD	United Nations Conference on Trade and Development	联合国贸易和发展会议	联合国贸发会议
2	IAEA	International Atomic Energy Agency	国际原子能机构	
2	OPCW	Organisation for the Prohibition of Chemical Weapons	禁止化学武器组织	禁化武组织
2	ICAO	International Civil Aviation Organization	国际民用航空组织	国际民航组织
2	ILO	International Labour Organization	国际劳工组织	
2	IMO	International Maritime Organization	国际海事组织	
2	ITU	International Telecommunication Union	国际电信联盟	国际电联
2	UNWTO	United Nations World Tourism Organization	世界旅游组织	
2	UPU	Universal Postal Union	万国邮政联盟	万国邮联
2	WIPO	World Intellectual Property Organization	世界知识产权组织	
2	IFC	International Finance Corporation	国际金融公司	
2	UNGEGN	United Nations Group of Experts on Geographical Names	联合国地名专家组	
3		Committee on Non-Governmental Organizations	联合国非政府组织委员会	
3	DFS	Department of Field Support	联合国外勤支助部	联合国外勤部
3	DM	Department of Management	联合国管理事务部	联合国管理部
3	DPKO	Department of Peacekeeping Operations	联合国维持和平行动部	联合国维和部
3	DPA	Department of Political Affairs	联合国政治事务部	联合国政治部
3	EOSG	Executive Office of the Secretary-General	联合国秘书长办公厅	
3	IBRD	International Bank for Reconstruction and Development	国际复兴开发银行	
3	IDA	International Development Association	国际开发协会	
3		International Law Commission of United Nations	联合国国际法委员会	
3		Military Staff Committee	安理会军事参谋团	安理会军参团
3	OCHA	Office for the Coordination of Humanitarian Affairs	联合国人道主义事务协调厅	联合国人道协调厅
3	OIOS	Office of Internal Oversight Services	联合国内部监督事务厅	联合国监督厅
3	OLA	Office of Legal Affairs	联合国法律事务厅	联合国法律厅
3		Preparatory Commission for the Comprehensive Nuclear-Test-Ban Treaty Organization	全面禁止核试验条约组织筹备委员会	禁核试组织筹委会
3	UNON	United Nations Office at Nairobi	联合国内罗毕办事处	
3	UNOV	United Nations Office at Vienna	联合国维也纳办事处	
3	UNOPS	United Nations Office for Project Services	联合国项目事务厅	联合国项目厅
3	UNSSC	United Nations System Staff College	联合国系统职员学院	
3	UNU	United Nations University	联合国大学	
3		World Bank	世界银行	
3		World Bank Group	世界银行集团	世行集团
3	WMO	World Meteorological Organization	世界气象组织	
5	CAC	Codex Alimentarius Commission	国际食品法典委员会	
5	CTC	United Nations Security Council Counter-Terrorism Committee	联合国安全理事会安理会反恐委员会	反恐怖主义委员会
5	IEA	International Energy Agency	国际能源署	
5	IPCC	Intergovernmental Panel on Climate Change	政府间气候变化专门委员会	
5	ATP	Association of Tennis Professionals	国际男子职业网球协会	
5	FIFA	Fédération Internationale de Football Association（法语）	国际足球联合会	国际足联
5	IPC	International Paralympic Committee	国际残疾人奥林匹克委员会	国际残奥委会
5	ITF	International Tennis Federation	国际网球联合会	国际网联
5	WTA	Women's Tennis Association	国际女子职业网球协会	
5	GEO	Group on Earth Observations	地球观测组织	
5	ICO	International Council of Ophthalmology	国际眼科理事会	
5	G7	Group of Seven	七国集团	
6	FTA	Free Trade Agreement	自由贸易协定	自贸协定
6	FTA	Free Trade Area	自由贸易区	自贸区
6	M0		流通中现金	
6	M&A	Mergers and Acquisitions	兼并收购	并购
6	EV	Electric Vehicle	电动汽车	
6	AI	Artificial Intelligence	人工智能	
6	IP电话	voice over internet protocol; IP telephony; Internet phone	网络电话	
6	IPTV	Internet Protocol Television	网络电视	
6	VR	Virtual Reality	虚拟现实	
6	AR	Augmented Reality	增强现实	
6	UHD	Ultra High Definition	超高清	
6	R&D	Research and Development	研究与开发	研发
6	API	Air Pollution Index	空气污染指数	
6	EQ	Emotional Quotient	情商	
6	HR	Human Resources	人力资源	
6	PE	Polyethylene	聚乙烯	
6	IBF	International Boxing Federation	国际拳击联合会	国际拳联
6	γ刀	Gamma Knife	伽玛刀	
6	γ射线	Gamma Ray	伽玛射线	
6	OTC	Over-The-Counter (drug)	非处方(药)	
"""

# (类别, 问题, 相似问法 separated by "|", 答案) -- all invented for 远桥语言服务.
FAQ = [
    ("薪酬", "工资每月几号发？", "发薪日是哪天|工资什么时候到账",
     "每月15日发放当月工资，遇节假日顺延至节后第一个工作日。工资明细可在“远桥人事通”小程序查看。"),
    ("假期", "年假怎么计算？", "我有多少天年假|年假天数",
     "入职满1年后享有年假7天，之后每增加1年司龄增加1天，最多15天。年假须在当年12月31日前休完，不可折现。"),
    ("稿费", "自由译员的稿费什么时候结算？", "兼职译员怎么结稿费|外包译员付款周期",
     "自由译员稿费按月结算：每月5日前核对上月已验收稿件字数，确认无误后于当月20日前通过银行转账支付，稿费按税前金额代扣个人所得税。"),
    ("稿费", "笔译稿费按什么标准计算？", "翻译费怎么算字数",
     "中译外按中文原文字符数（不计空格）计费，外译中按译文中文字符数计费；加急稿件（24小时内交付）加收50%。"),
    ("IT", "怎么申请CAT工具授权？", "Trados账号怎么开|计算机辅助翻译软件",
     "在“远桥工作台”提交“软件授权申请”，选择Trados或memoQ，经项目经理审批后由技术支持组在1个工作日内分配浮动授权。离职时授权自动收回。"),
    ("IT", "术语库和记忆库在哪里下载？", "翻译记忆库怎么用",
     "术语库和翻译记忆库统一存放在公司内网“语料平台”，按客户和项目分目录，只能在线调用，禁止导出到个人电脑。"),
    ("培训", "考CATTI可以报销吗？", "翻译资格考试报名费报销|考证有补贴吗",
     "可以。员工通过全国翻译专业资格（水平）考试（CATTI）二级及以上的，凭成绩证明报销报名费和培训费，合计不超过3000元，并一次性奖励2000元。"),
    ("考勤", "上班时间是几点到几点？", "几点打卡|弹性工作制",
     "工作时间为8:45–17:45，午休12:00–13:00。每月迟到累计不超过3次、每次不超过15分钟的不扣款。"),
    ("福利", "每天有餐补吗？", "午饭补贴多少|餐费补助",
     "有。每个出勤日发放餐补30元，随工资发放；出差期间改领出差补贴，不重复领取餐补。"),
    ("考勤", "可以远程办公吗？", "在家办公|居家办公申请",
     "笔译岗位每周可远程办公2天，须在“远桥工作台”提前登记；同传和项目管理岗位原则上不远程办公。"),
    ("薪酬", "同传译员的加班怎么算？", "会议超时有补贴吗",
     "会议实际时长超过合同约定时长的，按每超时30分钟300元向当班译员发放超时补贴，超时费由项目经理向客户另行收取。"),
    ("假期", "病假怎么请？", "生病请假要什么材料",
     "在“远桥人事通”提交病假申请，2天以内凭就诊记录即可；超过2天须提供医院诊断证明。每年前5天病假工资全额发放。"),
    ("差旅", "怎么申请出差？", "出差审批|外地会议出差",
     "在“远桥工作台”提交出差申请并写明项目编号，由项目经理审批；出差补贴境内每天120元，境外每天60美元。"),
    ("IT", "笔记本电脑坏了怎么办？", "电脑报修|电脑故障",
     "拨打技术支持组热线6600或在“远桥工作台”提交报修单，技术支持组2小时内响应，维修期间可借用备用笔记本。"),
    ("IT", "公司邮箱容量多大？", "邮箱满了",
     "员工邮箱容量为20GB，单个附件不超过50MB；大文件请用公司网盘“远桥云盘”分享链接发送。"),
    ("行政", "打印机怎么用？", "打印卡纸|彩色打印",
     "每层茶水间旁设有打印机，刷工牌打印；黑白打印不限量，彩色打印每人每月限200页。"),
    ("行政", "工牌丢了怎么办？", "补办门禁卡",
     "在“远桥人事通”提交挂失后到行政前台补办，工本费30元。"),
    ("福利", "公司有体检吗？", "年度体检",
     "每年5月安排一次年度体检，正式员工免费，可自费为一名家属加购体检套餐。"),
    ("福利", "生日福利有哪些？", "员工生日礼物",
     "员工生日当月发放300元购物卡，并可在生日当天提前2小时下班。"),
    ("人事", "离职要提前多久提出？", "辞职流程",
     "正式员工提前30天、试用期员工提前3天书面提出；离职前须归还工牌和电脑，并在语料平台完成未结项目的交接。"),
    ("薪酬", "公积金比例是多少？", "住房公积金缴存",
     "公司与个人的住房公积金缴存比例均为10%，自入职次月起缴纳。"),
    ("行政", "怎么预订会议室？", "订会议室|同传演练室预约",
     "在“远桥工作台”的“会议室”页面预订；同传演练室每次最多预订3小时，须提前1个工作日预约。"),
    ("项目", "客户投诉怎么处理？", "译文质量投诉|客户不满意怎么办",
     "项目经理须在收到投诉后4小时内回复客户，48小时内给出书面处理意见；确认为译文质量问题的，免费返工并视情况减免费用。"),
    ("财务", "报销流程是什么？", "费用怎么报销|发票报销",
     "在“远桥工作台”提交报销单并上传发票，经部门负责人审批和财务审核后，每月25日统一打款。报销须在费用发生后60天内提交。"),
    ("人事", "可以推荐朋友来公司吗？", "内推奖励",
     "可以。被推荐人入职并通过试用期的，向推荐人发放内推奖金：译员岗位3000元，其他岗位2000元。"),
    ("IT", "公司Wi-Fi密码是多少？", "无线网络",
     "员工网络“YQ-Staff”使用域账号登录；访客网络“YQ-Visitor”的密码每天更新，可向前台索取。"),
    ("行政", "停车位怎么申请？", "员工停车",
     "园区停车位有限，按司龄排队申请，每月费用200元，从工资中扣除。"),
    ("福利", "团建每年几次？", "部门活动经费",
     "每个部门每季度有团建经费，每人每季度150元，须在当季使用。"),
    ("人事", "新员工入职要带什么材料？", "入职材料清单|报到带什么",
     "身份证原件、学历学位证书原件、上一家单位的离职证明、一寸照片2张，以及语言能力证书（如CATTI、专八）原件。"),
    ("假期", "婚假有几天？", "结婚请假",
     "婚假10天（含法定婚假3天及公司额外福利假7天），须在领取结婚证后6个月内一次休完。"),
]

DOCS = {
    "笔译项目质量管理规范.md": """\
# 笔译项目质量管理规范

本规范适用于远桥语言服务有限公司承接的全部笔译项目（含本地化项目中的文本翻译），由质量管理部负责解释，自2025年7月1日起执行。

## 一、工序要求

1. 每份稿件须依次经过“翻译—审校—质检”三道工序，三道工序不得由同一人完成。
2. 审校须由持有CATTI二级及以上证书、且从事该语种翻译满3年的译员担任。
3. 质检由质量管理部执行，按字数随机抽检，抽检比例不低于20%；法律、医疗类稿件须全文质检。
4. 项目经理排期时，普通稿件的译员日产能按3000字计算，审校日产能按8000字计算。

## 二、质量标准

1. 错误分为严重错误（错译、漏译、数字错误）、一般错误（术语不统一、语法错误）和轻微错误（标点、格式）三类。
2. 每千字严重错误为0、一般错误不超过2个的，判定为合格；不合格的稿件退回译员返工，返工后重新质检。
3. 质量管理部每月公布各译员的合格率，连续两个月合格率低于90%的译员暂停接收新稿件，并参加专项培训。

## 三、术语与译名

1. 外语缩略语在译文中首次出现时，须写出中文译名并在括号中注明缩写，如“世界卫生组织（WHO）”；再次出现时可直接使用中文译名。
2. 译名以公司《术语》表中的“中文译名”为准；“其他译名”列中的简称（如“世贸组织”“欧佩克”）仅在客户明确要求使用简称时采用。
3. 客户提供了术语表的，优先使用客户术语表，并在项目记录中注明。
4. 遇到《术语》表未收录的缩略语，由译员提出译名建议，经审校确认后，由语料组在5个工作日内补入术语表。

## 四、交付与返工

1. 质检通过后由项目经理向客户交付译稿，并在“远桥工作台”关闭项目。
2. 客户在交付后30天内提出的译文质量问题，公司免费返工，返工稿须在2个工作日内交付。

## 五、保密

1. 禁止将客户稿件的任何内容粘贴到公共在线机器翻译网站或公共AI工具中；确需机器翻译辅助的，只能使用公司内部部署的翻译引擎。
2. 项目结束后，客户原文和译文在语料平台保存180天后删除，客户另有约定的除外。
3. 译员不得在个人电脑或个人网盘中保存客户稿件。
""",
    "会议口译服务流程.md": """\
# 会议口译服务流程

本流程适用于公司承接的同声传译（同传）和交替传译（交传）会议项目，由口译部负责维护。

## 一、承接与排期

1. 口译项目由客户经理签订合同后录入“远桥工作台”，口译部在2个工作日内确认译员人选。
2. 同传以半天（4小时以内）或全天（8小时以内）为单位计费，具体价格以合同为准。
3. 客户取消会议的：会前7天以上取消不收费；会前3至7天取消收取50%费用；会前3天以内取消收取全部费用。

## 二、译员配置

1. 同传每个语种方向至少配置2名译员，每20至30分钟轮换一次。
2. 全天会议实际口译时长超过6小时的，每个语种方向配置3名译员。
3. 交传一般配置1名译员；会议超过4小时的，增配1名译员。
4. 国际组织会议（如联合国系统机构的会议）须安排有同类会议经验的译员担任主译。

## 三、会前准备

1. 客户须在会议前3个工作日提供议程、发言稿和演示文稿；资料晚于会前1个工作日送达的，项目经理须书面告知客户可能影响口译质量。
2. 项目经理在会前整理会议专用术语表。联合国会议、国际经贸会议常出现大量机构缩写（如UNCTAD、IAEA、OCHA），须提前按公司《术语》表统一译名，发给全体译员。
3. 译员须在会前1天参加线上术语对稿会。

## 四、会议现场

1. 技术支持组提前2小时到场安装和调试同传设备，译员至少提前1小时到场试音。
2. 会议超出约定时长的，按每30分钟计收超时费，由项目经理现场与客户确认。
3. 现场禁止译员对会议内容拍照、录音或在社交媒体发布。

## 五、会后

1. 项目经理在会后2个工作日内提交会议服务报告，记录时长、超时情况和客户反馈。
2. 会议录音（如有）在公司服务器保存30天后删除，客户另有约定的除外。
""",
    "新员工入职指南.md": """\
# 新员工入职指南

远桥语言服务有限公司成立于2009年，总部位于杭州，提供笔译、会议口译、本地化和语料服务，在北京、上海、广州设有办公室。

## 一、组织架构

- 笔译部：各语种笔译与审校
- 口译部：同声传译与交替传译
- 本地化部：软件、网站和游戏本地化
- 语料组：术语表、翻译记忆库和语料平台维护
- 技术支持组：电脑、CAT工具授权和会议设备
- 质量管理部：质检与译员考评
- 职能部门：人事行政部、财务部

## 二、入职第一天

1. 8:30到总部3楼前台报到，领取工牌和入职资料袋。
2. 到人事行政部签订劳动合同和保密协议。
3. 到技术支持组领取笔记本电脑，开通域账号、“远桥工作台”和语料平台账号。
4. 与导师见面。每位新员工由部门指定一名导师，带教期为3个月，公司每月向导师发放带教津贴500元。

## 三、入职培训

入职培训共5天：

- 第1天：公司介绍、规章制度、人事福利
- 第2天：笔译项目质量管理规范与术语规范
- 第3天：CAT工具（Trados、memoQ）与语料平台操作
- 第4天：信息安全与客户保密要求
- 第5天：试译与结业考核

结业考核85分及格，未通过的可在两周内补考一次。

## 四、试用期

试用期为6个月。试用期内须完成不少于5万字的笔译任务（口译岗位为不少于10场会议的辅助工作），期满前由部门负责人组织转正答辩。
""",
}

GLOSSARY = "术语.xlsx"
FAQ_FILE = "问答.xlsx"
QA = "笔译项目质量管理规范.md"
INTERP = "会议口译服务流程.md"
ONBOARD = "新员工入职指南.md"


def T(q, contains, any_=None):
    d = {"question": q, "expect_route": "term", "expect_contains": contains}
    if any_:
        d["expect_any"] = any_
    d.update(expect_source=GLOSSARY, expect_abstain=False)
    return d


def F(q, any_):
    return {"question": q, "expect_route": "fact", "expect_any": any_,
            "expect_source": FAQ_FILE, "expect_abstain": False}


def D(q, any_, src):
    return {"question": q, "expect_route": "doc", "expect_any": any_,
            "expect_source": src, "expect_abstain": False}


def A(q):
    return {"question": q, "expect_abstain": True}


CASES = [
    # --- terms: meaning, full name, Chinese name, abbreviation of a name ---
    T("文件里出现的OPCW是什么组织", ["禁止化学武器组织"]),
    T("UNCTAD的全称是什么", ["United Nations Conference on Trade and Development"]),
    T("国际原子能机构用英文缩写怎么写", ["IAEA"]),
    T("What's ICAO short for?", ["International Civil Aviation Organization"]),
    T("世界知识产权组织的缩写", ["WIPO"]),
    T("稿子里的OCHA该怎么翻译", ["联合国人道主义事务协调厅"]),
    T("IPCC是哪几个英文单词的缩写", ["Intergovernmental Panel on Climate Change"]),
    T("FTA译成中文是什么", ["自由贸易协定", "自由贸易区"]),
    T("pm2.5中文叫什么", ["细颗粒物"]),
    T("世界银行的英文名称是什么", ["World Bank"]),
    T("M&A是什么意思", ["兼并收购"]),
    T("γ刀是什么", ["伽玛刀"]),
    T("药盒上印的OTC是什么意思", ["非处方"]),
    T("电视宣传里说的UHD是什么", ["超高清"]),
    T("Emotional Quotient的缩写是什么", ["EQ"]),
    T("国际足联的外语缩写是什么", ["FIFA"]),
    T("WTA是哪个组织", ["国际女子职业网球协会"]),
    T("UNU是什么", ["联合国大学"]),
    T("新闻里的G7指的是什么", ["七国集团"]),
    T("译名表里API是什么意思", ["空气污染指数"]),
    T("AR的中文译名", ["增强现实"]),
    T("M0是什么", ["流通中现金"]),
    T("联合国秘书处的英文怎么说", ["United Nations Secretariat"]),
    T("DPKO是联合国的哪个部门", ["联合国维持和平行动部"]),
    T("IP电话是什么", ["网络电话"]),
    T("What does UPU stand for?", ["Universal Postal Union"]),
    T("E-mail的中文译名是什么", ["电子邮件"]),
    T("欧佩克的英文全称", ["Organization of the Petroleum Exporting Countries"]),
    T("oecd是什么", ["经济合作与发展组织"]),
    T("国际劳工组织的英文缩写", ["ILO"]),
    # --- a term is mentioned, a document answers ---
    D("稿件里第一次出现WHO应该怎么写？", ["首次出现", "世界卫生组织（WHO）"], QA),
    D("客户文件里有个缩写在术语表里查不到，译名由谁来定？", ["语料组", "审校确认", "5个工作日"], QA),
    D("联合国会议上有很多UNCTAD、IAEA这样的缩写，会前要怎么准备？", ["统一译名", "术语表"], INTERP),
    D("译文里可以直接用“世贸组织”这种简称吗？", ["客户明确要求"], QA),
    # --- FAQ paraphrases ---
    F("一个月里哪天能拿到工资", ["每月15日"]),
    F("入职满一年能休几天年假", ["7天"]),
    F("兼职翻译的稿费几号打款", ["20日"]),
    F("英译中的稿子按什么算字数", ["译文中文字符数"]),
    F("加急件要多收多少钱", ["50%"]),
    F("需要一个memoQ的许可证，找谁开", ["软件授权申请", "技术支持组"]),
    F("翻译记忆库能拷到自己电脑上吗", ["禁止导出"]),
    F("过了CATTI二级公司给报钱吗", ["3000元", "2000元"]),
    F("早上几点前要到岗", ["8:45"]),
    F("中午吃饭公司补多少", ["30元"]),
    F("做笔译的一周能在家几天", ["2天"]),
    F("同传会议拖堂了，译员有额外补贴吗", ["300元"]),
    F("看病请三天假要什么证明", ["诊断证明"]),
    F("电脑开不了机了打哪个电话", ["6600"]),
    F("邮件附件最大能发多大", ["50MB"]),
    F("彩打每个月有数量限制吗", ["200页"]),
    F("过生日公司有什么表示", ["300元购物卡"]),
    F("公司和个人的公积金各交多少", ["10%"]),
    F("同传演练室一次能订多长时间", ["3小时"]),
    F("客户说译文有问题，多久要给答复", ["4小时", "48小时"]),
    F("报销款每个月几号到账", ["25日"]),
    F("来访的客人怎么连无线", ["YQ-Visitor"]),
    F("结婚能休多少天", ["10天"]),
    F("介绍朋友来当译员有奖励吗", ["3000元"]),
    F("开车上班能申请车位吗", ["200元", "司龄"]),
    F("部门聚餐有经费吗", ["150元"]),
    F("报到那天要带哪些证件", ["身份证原件", "学历学位证书"]),
    F("去外地出差一天补贴多少", ["120元"]),
    F("门禁卡找不到了，补办要多少钱", ["30元"]),
    F("不想干了要提前多久打招呼", ["30天"]),
    # --- near misses: look like an FAQ entry, ask what the knowledge does not hold ---
    A("产假有几天？"),
    A("同传译员的日薪是多少？"),
    A("体检报告在哪里查？"),
    A("车位可以转让给别人吗？"),
    A("考雅思可以报销吗？"),
    # --- unanswerable ---
    A("远桥的股票代码是多少？"),
    A("公司老板是谁？"),
    A("公司食堂今天吃什么？"),
    A("NATO是什么意思？"),
    A("UNESCO是什么组织？"),
    A("IMF的全称是什么？"),
    A("讲个笑话"),
    A("今天外面几度？"),
    A("公司承接过哪些大型国际会议？"),
    A("公司有多少名同传译员？"),
    A("NBA是什么？"),
    A("What's the capital of Australia?"),
    A("公司年会在哪里办？"),
    A("公司的英文官网是什么？"),
    # --- English questions, Chinese answers ---
    F("Which day of the month is payday?", ["15日"]),
    F("How long is marriage leave?", ["10天"]),
    T("What's the Chinese name for IBRD?", ["国际复兴开发银行"]),
    D("How many interpreters are assigned per language direction for simultaneous interpreting?", ["2名"], INTERP),
    D("How long are conference recordings kept?", ["30天"], INTERP),
    F("How much is the daily meal allowance?", ["30元"]),
    D("How long is the probation period?", ["6个月"], ONBOARD),
    D("What's the passing score of the onboarding assessment?", ["85分"], ONBOARD),
    D("How long are client files kept on the corpus platform after a project ends?", ["180天"], QA),
    T("What does IFC stand for in our glossary?", ["International Finance Corporation"], ["国际金融公司"]),
    F("What are the office hours?", ["8:45", "17:45"]),
    F("How big is the company mailbox?", ["20GB"]),
    # --- documents ---
    D("审校要由什么资质的译员担任？", ["二级及以上", "满3年"], QA),
    D("质检抽检比例是多少？", ["20%"], QA),
    D("每千字一般错误不超过几个算合格？", ["2个"], QA),
    D("客户自己提供了术语表时以哪个为准？", ["优先使用客户术语表", "客户术语表"], QA),
    D("普通稿件译员每天按多少字排期？", ["3000字"], QA),
    D("能把客户稿件贴到网上的机器翻译里吗？", ["禁止", "内部部署"], QA),
    D("连续两个月合格率低于90%的译员会怎样？", ["暂停接收新稿件"], QA),
    D("同传译员多久轮换一次？", ["20至30分钟"], INTERP),
    D("客户要提前几天提供会议资料？", ["3个工作日"], INTERP),
    D("技术人员提前多久到场调试设备？", ["2小时"], INTERP),
    D("全天会议口译超过6小时要配几名译员？", ["3名"], INTERP),
    D("会议结束后多久提交服务报告？", ["2个工作日"], INTERP),
    D("会前5天客户取消会议要付多少费用？", ["50%"], INTERP),
    D("导师带教津贴每月多少？", ["500元"], ONBOARD),
    D("入职培训一共几天？", ["5天"], ONBOARD),
    D("公司有哪些部门？", ["语料组", "本地化部", "笔译部"], ONBOARD),
    D("公司是哪一年成立的？", ["2009"], ONBOARD),
    D("试用期内要完成多少笔译字数？", ["5万字"], ONBOARD),
]


def build_glossary(path):
    wb = Workbook()
    ws = wb.active
    ws.title = "外语词译名"
    ws.append(["远桥语言服务 外语词中文译名表（摘自推荐使用外语词中文译名表第1—6批）"])
    ws.merge_cells("A1:E1")
    ws["A1"].font = Font(bold=True)
    ws.append(["批次", "外语缩写", "英文名称", "中文译名", "其他译名"])
    for line in WAIYUCI_TSV.splitlines():
        batch, abbr, english, chinese, alt = line.split("\t")
        ws.append([int(batch), abbr or None, english or None, chinese, alt or None])
    for col, width in zip("ABCDE", (6, 12, 60, 36, 22)):
        ws.column_dimensions[col].width = width
    wb.save(path)


def build_faq(path):
    wb = Workbook()
    ws = wb.active
    ws.title = "问答"
    ws.append(["类别", "问题", "相似问法", "答案"])
    for category, question, similar, answer in FAQ:
        ws.append([category, question, similar.replace("|", "\n"), answer])
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    for col, width in zip("ABCD", (8, 28, 30, 80)):
        ws.column_dimensions[col].width = width
    wb.save(path)


def main():
    for sub in ("glossary", "faq", "docs"):
        (HERE / sub).mkdir(exist_ok=True)
    build_glossary(HERE / "glossary" / GLOSSARY)
    build_faq(HERE / "faq" / FAQ_FILE)
    for name, text in DOCS.items():
        (HERE / "docs" / name).write_text(text, encoding="utf-8")
    with open(HERE / "cases.jsonl", "w", encoding="utf-8") as f:
        for case in CASES:
            f.write(json.dumps(case, ensure_ascii=False) + "\n")
    assert len(WAIYUCI_TSV.splitlines()) == 80 and len(FAQ) == 30
    print(f"glossary rows: 80, faq entries: {len(FAQ)}, docs: {len(DOCS)}, cases: {len(CASES)}")


if __name__ == "__main__":
    main()
