"""Build the sample knowledge set of the fictional company 星河电子 into knowledge/.

The content lives here as Python data so the binary files (xlsx, docx, pptx, pdf) can be
regenerated at will and come out byte-identical: Office files get fixed zip and document
timestamps, and the PDF is written in reportlab's invariant mode. The PDF uses reportlab's
built-in CID font STSong-Light, so no font file has to be installed.

    python scripts/build_sample_knowledge.py [--out knowledge]
"""
from __future__ import annotations

import argparse
import re
import zipfile
from pathlib import Path

from docx import Document
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from pptx import Presentation
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate

REPO_ROOT = Path(__file__).resolve().parent.parent
COMPANY = "星河电子科技有限公司"
FIXED_ZIP_TIME = (2026, 1, 1, 0, 0, 0)
FIXED_W3C_TIME = "2026-01-01T00:00:00Z"

# ---------------------------------------------------------------------------
# Glossaries
# ---------------------------------------------------------------------------

# (缩略语, 英文全称, 中文解释). An empty abbreviation or English name is intentional.
COMPANY_TERMS: list[tuple[str, str, str]] = [
    # 销售与市场
    ("AM", "Account Manager", "客户经理"),
    ("AIP", "Annual Indicative Price", "年度指导价"),
    ("AAP", "Actual Achieved Price", "实际成交价"),
    ("ASP", "Average Selling Price", "平均销售价格"),
    ("MSRP", "Manufacturer's Suggested Retail Price", "厂商建议零售价"),
    ("KA", "Key Account", "重点客户（大客户）"),
    ("KAM", "Key Account Manager", "大客户经理"),
    ("RSD", "Regional Sales Director", "区域销售总监"),
    ("CRM", "Customer Relationship Management", "客户关系管理（系统）"),
    ("PO", "Purchase Order", "采购订单"),
    ("SO", "Sales Order", "销售订单"),
    ("DO", "Delivery Order", "发货单"),
    ("RFQ", "Request for Quotation", "询价单（报价请求）"),
    ("RFP", "Request for Proposal", "方案征询书"),
    ("NDA", "Non-Disclosure Agreement", "保密协议"),
    ("MOQ", "Minimum Order Quantity", "最小起订量"),
    ("FOB", "Free on Board", "船上交货（离岸价）"),
    ("CIF", "Cost, Insurance and Freight", "成本加保险费加运费（到岸价）"),
    ("EXW", "Ex Works", "工厂交货"),
    ("FTA", "Free Trade Agreement", "自由贸易协定"),
    ("FTA", "Free Trade Area", "自由贸易区"),
    ("GMV", "Gross Merchandise Volume", "商品交易总额"),
    ("SKU", "Stock Keeping Unit", "库存量单位（单品编码）"),
    ("SPU", "Standard Product Unit", "标准产品单元"),
    ("POS", "Point of Sale", "销售终端（门店收银点）"),
    ("", "Channel Partner", "渠道合作伙伴"),
    # 经营与财务
    ("KPI", "Key Performance Indicator", "关键绩效指标"),
    ("OKR", "Objectives and Key Results", "目标与关键成果"),
    ("ROI", "Return on Investment", "投资回报率"),
    ("YoY", "Year over Year", "同比"),
    ("MoM", "Month over Month", "环比"),
    ("DSO", "Days Sales Outstanding", "应收账款周转天数"),
    ("AR", "Accounts Receivable", "应收账款"),
    ("AP", "Accounts Payable", "应付账款"),
    ("P&L", "Profit and Loss", "损益（表）"),
    ("OPEX", "Operating Expense", "运营费用"),
    ("CAPEX", "Capital Expenditure", "资本性支出"),
    ("T&E", "Travel and Entertainment", "差旅及招待费用"),
    ("VAT", "Value-Added Tax", "增值税"),
    ("PR", "Purchase Requisition", "采购申请"),
    # 供应链与制造
    ("BOM", "Bill of Materials", "物料清单"),
    ("OEM", "Original Equipment Manufacturer", "原始设备制造商（代工生产）"),
    ("ODM", "Original Design Manufacturer", "原始设计制造商"),
    ("EMS", "Electronic Manufacturing Services", "电子制造服务"),
    ("ERP", "Enterprise Resource Planning", "企业资源计划（系统）"),
    ("MRP", "Material Requirements Planning", "物料需求计划"),
    ("MES", "Manufacturing Execution System", "制造执行系统"),
    ("WMS", "Warehouse Management System", "仓储管理系统"),
    ("SCM", "Supply Chain Management", "供应链管理"),
    ("S&OP", "Sales and Operations Planning", "产销协同计划"),
    ("OTD", "On-Time Delivery", "准时交付率"),
    ("LT", "Lead Time", "交货周期（前置时间）"),
    ("IQC", "Incoming Quality Control", "来料检验"),
    ("IPQC", "In-Process Quality Control", "制程检验"),
    ("OQC", "Outgoing Quality Control", "出货检验"),
    ("QA", "Quality Assurance", "质量保证"),
    ("QC", "Quality Control", "质量控制"),
    ("SOP", "Standard Operating Procedure", "标准作业程序"),
    ("ESD", "Electrostatic Discharge", "静电放电（防护）"),
    ("RoHS", "Restriction of Hazardous Substances", "有害物质限制指令"),
    ("CCC", "China Compulsory Certification", "中国强制性产品认证（3C认证）"),
    ("GB", "", "国家标准（“国标”的拼音缩写）"),
    # 研发与产品
    ("R&D", "Research and Development", "研发"),
    ("NPI", "New Product Introduction", "新产品导入"),
    ("EVT", "Engineering Validation Test", "工程验证测试"),
    ("DVT", "Design Validation Test", "设计验证测试"),
    ("PVT", "Production Validation Test", "生产验证测试"),
    ("MP", "Mass Production", "量产"),
    ("EOL", "End of Life", "产品停产（生命周期结束）"),
    ("PRD", "Product Requirements Document", "产品需求文档"),
    ("ECN", "Engineering Change Notice", "工程变更通知"),
    ("PM", "Product Manager", "产品经理"),
    ("PM", "Project Manager", "项目经理"),
    ("FAE", "Field Application Engineer", "现场应用工程师"),
    # 售后服务
    ("RMA", "Return Material Authorization", "退货授权（退换货及维修申请）"),
    ("DOA", "Dead on Arrival", "开箱即损"),
    ("SLA", "Service Level Agreement", "服务级别协议"),
    ("TAT", "Turnaround Time", "周转时间（维修处理时长）"),
    ("FCR", "First Contact Resolution", "首次接触解决率"),
    ("CSAT", "Customer Satisfaction Score", "客户满意度评分"),
    ("NPS", "Net Promoter Score", "净推荐值"),
    ("SN", "Serial Number", "产品序列号"),
    ("FRU", "Field Replaceable Unit", "现场可更换部件"),
    ("ASC", "Authorized Service Center", "授权服务中心"),
    # 人事与行政
    ("HR", "Human Resources", "人力资源"),
    ("HRBP", "Human Resources Business Partner", "人力资源业务伙伴"),
    ("CEO", "Chief Executive Officer", "首席执行官"),
    ("CFO", "Chief Financial Officer", "首席财务官（财务总监）"),
    ("OA", "Office Automation", "办公自动化（系统）"),
    ("WFH", "Work From Home", "居家办公"),
    ("PTO", "Paid Time Off", "带薪休假"),
    ("IDP", "Individual Development Plan", "个人发展计划"),
    ("EHS", "Environment, Health and Safety", "环境、健康与安全"),
    # 信息技术
    ("IT", "Information Technology", "信息技术（部门）"),
    ("VPN", "Virtual Private Network", "虚拟专用网络"),
    ("MFA", "Multi-Factor Authentication", "多因素认证"),
    ("SSO", "Single Sign-On", "单点登录"),
    ("APP App app", "Application", "应用程序（手机或电脑上的应用软件）"),
]

# The IT department keeps its own sheet with other header words and a 备注 column.
IT_TERMS: list[tuple[str, str, str, str]] = [
    ("AD", "Active Directory", "活动目录（域账号体系）", "员工登录电脑、邮箱用的“域账号”即AD账号"),
    ("AP", "Access Point", "无线接入点", "办公区每层均有部署，信号问题请报IT服务台"),
    ("DNS", "Domain Name System", "域名系统", ""),
    ("DHCP", "Dynamic Host Configuration Protocol", "动态主机配置协议", ""),
    ("LAN", "Local Area Network", "局域网", ""),
    ("WLAN", "Wireless Local Area Network", "无线局域网", "员工无线网络名称为XH-Office"),
    ("VDI", "Virtual Desktop Infrastructure", "虚拟桌面", "外包研发人员通过VDI访问开发环境"),
    ("DLP", "Data Loss Prevention", "数据防泄漏", "文件外发审批由DLP系统执行"),
    ("EDR", "Endpoint Detection and Response", "终端检测与响应", "公司电脑统一安装，不得卸载"),
    ("ITSM", "IT Service Management", "IT服务管理", "“IT服务门户”即公司的ITSM系统"),
    ("CMDB", "Configuration Management Database", "配置管理数据库", ""),
    ("BYOD", "Bring Your Own Device", "自带设备办公", "要求见《信息安全规范》"),
    ("SaaS", "Software as a Service", "软件即服务", ""),
    ("OTP", "One-Time Password", "一次性密码（动态口令）", "由“星河令牌”App生成"),
    ("MDM", "Mobile Device Management", "移动设备管理", "个人手机收公司邮件须先加入MDM"),
    ("", "Help Desk", "IT服务台", "分机8000，工作日8:30–18:30"),
]

# ---------------------------------------------------------------------------
# FAQ: (问题, 相似问题, 答案, 分类)
# ---------------------------------------------------------------------------

FAQ: list[tuple[str, list[str], str, str]] = [
    ("年假如何申请？",
     ["年休假怎么请", "怎么休年假", "How to apply for annual leave?"],
     "在OA系统“考勤管理 > 请假申请”中选择“年假”，填写起止日期后提交，由直属上级审批；"
     "连续休假超过3个工作日的，还需部门负责人审批。请至少提前3个工作日提交申请。",
     "人事"),
    ("年假有多少天？",
     ["我有几天年假", "年假天数怎么算", "年假可以留到明年吗"],
     "累计工作满1年不满10年的，年假5天；满10年不满20年的，年假10天；满20年的，年假15天。"
     "当年未休完的年假可延续至次年3月31日前使用，逾期作废。剩余天数可在HR自助平台“我的假期”中查看。",
     "人事"),
    ("病假怎么请？",
     ["生病了怎么请假", "病假需要什么证明"],
     "在OA系统提交“病假”申请。1天以内的病假可在返岗后补提；超过1天的，须上传二级及以上医院出具的诊断证明或病假条。",
     "人事"),
    ("婚假有几天？",
     ["结婚可以休几天假", "婚假怎么申请"],
     "婚假为3天（按日历日计算，含休息日），须在领取结婚证后一年内休完。申请时在OA系统选择“婚假”并上传结婚证照片。",
     "人事"),
    ("加班有加班费吗？",
     ["加班怎么算", "周末加班怎么补偿", "加班可以调休吗"],
     "加班须事先在OA系统提交“加班申请”并经直属上级批准。工作日加班安排调休；休息日加班可选择调休，"
     "或按工资的200%支付加班费；法定节假日加班按工资的300%支付加班费。调休须在加班后6个月内使用。",
     "人事"),
    ("工资什么时候发？",
     ["工资发放日是哪天", "几号发工资"],
     "每月10日发放上月工资，遇周末或法定节假日提前至最近的工作日发放。工资条可在HR自助平台“薪酬查询”中查看。",
     "人事"),
    ("上下班时间是几点？",
     ["打卡时间", "迟到怎么算", "可以弹性上班吗"],
     "标准工作时间为9:00–18:00，午休12:00–13:00。可在8:30–9:30之间弹性上班，下班时间相应顺延。"
     "通过OA系统移动端打卡，每月有3次漏打卡补签机会。",
     "人事"),
    ("居家办公需要申请吗？",
     ["可以在家办公吗", "怎么申请WFH", "Can I work from home?"],
     "需要。员工每月最多可居家办公4天，须提前1个工作日在OA系统提交“居家办公申请”，经直属上级批准。"
     "居家办公期间须保持通讯畅通，并通过公司VPN访问内部系统。",
     "人事"),
    ("怎么开在职证明？",
     ["在职证明在哪里办", "收入证明怎么开"],
     "在HR自助平台“证明申请”中选择在职证明或收入证明并填写用途，HR一般在2个工作日内出具盖章文件，"
     "可到HR前台领取，也可申请电子版。",
     "人事"),
    ("社保和公积金什么时候开始缴纳？",
     ["入职当月交社保吗", "公积金比例是多少"],
     "公司自员工入职当月起缴纳社会保险和住房公积金，住房公积金的个人和公司缴存比例均为12%。",
     "人事"),
    ("绩效考核多久一次？",
     ["KPI考核周期", "绩效结果有什么用"],
     "绩效考核每半年进行一次（6月和12月），结果分为A、B、C、D四档，作为调薪、年终奖和晋升的依据。",
     "人事"),
    ("离职需要提前多久申请？",
     ["辞职要提前多久说", "离职流程是什么"],
     "转正员工须提前30天、试用期员工须提前3天在OA系统提交离职申请。审批通过后按“离职交接单”办理工作交接，"
     "归还电脑和工牌，并由IT部门注销账号。",
     "人事"),
    ("报销流程是什么？",
     ["费用怎么报销", "报销要多久到账", "怎么提交报销单"],
     "费用发生后30天内，在OA系统“费用报销”中提交报销单并上传电子发票，流程为：直属上级审批 → 财务审核 → 出纳付款。"
     "单笔超过5000元的需部门负责人加签。财务审核通过后，款项于每周四统一打入工资卡。",
     "财务"),
    ("发票抬头怎么写？",
     ["开发票写什么抬头", "公司税号是多少"],
     "发票抬头为“星河电子科技有限公司”，税号、开户行等开票信息请在OA系统“财务信息”页面查看。"
     "报销只接受抬头正确的增值税发票。",
     "财务"),
    ("发票丢了怎么办？",
     ["发票遗失还能报销吗"],
     "电子发票可重新下载打印；纸质发票遗失的，须取得开票方盖章的发票记账联复印件并附情况说明，"
     "经部门负责人签字后方可报销。",
     "财务"),
    ("可以预支出差费用吗？",
     ["怎么借款", "备用金怎么申请"],
     "可以。因公出差或大额采购需预支费用的，在OA系统提交“借款申请”，单次借款不超过1万元。"
     "借款须在出差结束或事项完成后30天内通过报销冲销。",
     "财务"),
    ("出差前需要办理什么手续？",
     ["出差怎么申请", "出差审批流程", "How do I request a business trip?"],
     "出差前须在OA系统提交“出差申请”，写明目的地、时间和预算，经直属上级批准；境外出差还需分管副总裁批准。"
     "审批通过后在“星河商旅”平台预订机票和酒店，费用由公司统一结算。",
     "差旅"),
    ("VPN怎么连接？",
     ["在家怎么访问公司内网", "VPN连不上怎么办", "How do I connect to the VPN?"],
     "在公司电脑上打开“星河VPN”客户端，输入域账号和密码，再输入“星河令牌”App显示的6位动态码即可连接。"
     "客户端可在“软件中心”安装。连接失败请先检查网络和电脑系统时间，仍无法连接请联系IT服务台（分机8000）。",
     "IT"),
    ("忘记密码怎么办？",
     ["密码重置", "域账号被锁定了怎么办", "电脑开机密码忘了"],
     "可在“自助服务门户”通过手机验证码自行重置域账号密码。连续输错5次密码，账号会被锁定30分钟，"
     "急需解锁请致电IT服务台（分机8000）。新密码至少12位，须包含大写字母、小写字母、数字、符号中的至少三类，"
     "且不能与最近5次使用过的密码相同。",
     "IT"),
    ("密码多久要改一次？",
     ["为什么提示密码过期", "怎么修改密码"],
     "域账号密码每90天须修改一次，到期前14天系统会发邮件提醒。可在公司电脑上按Ctrl+Alt+Del选择“更改密码”，"
     "或在“自助服务门户”中修改。",
     "IT"),
    ("电脑坏了找谁？",
     ["电脑故障怎么报修", "电脑蓝屏怎么办", "My computer is broken, who should I contact?"],
     "请在“IT服务门户”提交报修工单，或致电IT服务台（分机8000）。工作时间内IT工程师会在30分钟内响应；"
     "需要送修的，可先在IT服务台领用备用机。",
     "IT"),
    ("公司Wi-Fi怎么连？",
     ["无线网络密码是多少", "访客Wi-Fi"],
     "员工使用无线网络“XH-Office”，以域账号登录；访客使用“XH-Guest”，由前台提供当日有效的临时密码。"
     "请勿把个人路由器接入公司网络。",
     "IT"),
    ("怎么申请安装软件？",
     ["电脑上能自己装软件吗", "需要安装新软件怎么办"],
     "常用软件可在“软件中心”自助安装。软件中心没有的软件，须在“IT服务门户”提交“软件申请”，"
     "经直属上级和IT部门审批后由IT工程师安装；禁止安装未经授权的软件。",
     "IT"),
    ("邮箱满了怎么办？",
     ["邮箱空间不足", "邮箱容量是多少"],
     "员工邮箱容量为50GB。可将旧邮件归档到本地，或在“IT服务门户”申请扩容（需直属上级审批）。",
     "IT"),
    ("新员工什么时候领电脑？",
     ["入职电脑在哪里领"],
     "新员工入职当天上午在IT服务台领取笔记本电脑和账号信息，并在IT工程师协助下完成“星河令牌”绑定。",
     "IT"),
    ("会议室怎么预订？",
     ["订会议室", "会议室可以订多久"],
     "在OA系统“会议室预订”中选择时间和会议室提交即可，单次最长预订4小时；20人以上的大会议室需行政部审批。",
     "行政"),
    ("工牌丢了怎么办？",
     ["门禁卡丢失", "补办工牌"],
     "请立即在OA系统提交“工牌挂失”，并到行政前台补办，补办工本费20元，从当月工资中扣除。",
     "行政"),
    ("公司有员工体检吗？",
     ["每年体检吗", "体检怎么预约"],
     "有。公司每年为正式员工安排一次免费体检，通常在9月至11月进行，行政部会提前发邮件通知预约方式。",
     "行政"),
    ("员工买公司产品有优惠吗？",
     ["员工价怎么买", "内购"],
     "有。正式员工可在OA系统“员工内购”页面以员工价购买公司产品，每类产品每年限购2台，仅限自用或赠送亲友，不得转售。",
     "行政"),
    ("产品保修期是多久？",
     ["手表保修几年", "配件保修多久", "过了保修期还能修吗"],
     "星河电子产品主机保修期为1年，充电器、数据线等配件保修期为6个月，自购买发票日期起算。"
     "过保产品可付费维修，由授权服务中心（ASC）检测后报价。",
     "售后"),
    ("客户要求退换货怎么处理？",
     ["客户退货流程", "怎么申请RMA"],
     "由客户经理（AM）或客服在CRM系统中为客户创建RMA申请，填写产品序列号（SN）、购买日期和故障描述；"
     "售后服务部在1个工作日内审核，审核通过后客户凭RMA编号将产品寄回或送至授权服务中心（ASC）。",
     "售后"),
]

# ---------------------------------------------------------------------------
# Documents
# ---------------------------------------------------------------------------

# A document is a list of blocks: ("h1"|"h2", text), ("p", text), ("bullets", [text...]),
# ("table", [[header...], [row...], ...]).

AFTER_SALES_DOC = [
    ("title", "产品售后服务流程"),
    ("p", "本流程适用于星河电子智能手表、TWS耳机、平板电脑及配件在中国大陆销售后的退换货、维修与客户投诉处理，"
          "由售后服务部负责维护，自2026年1月1日起执行。"),
    ("h1", "一、角色与职责"),
    ("h2", "1. 客户经理（AM）"),
    ("p", "客户经理（AM，Account Manager）是渠道客户和重点客户（KA）的售后第一接口人，负责："),
    ("bullets", [
        "受理客户提出的退换货、维修和投诉诉求，并在CRM系统中创建售后工单或RMA申请；",
        "向客户说明保修政策和处理进度，跟进工单直至关闭；",
        "每月向KA客户通报售后数据（返修率、TAT、CSAT），并收集客户对产品质量的反馈；",
        "对超出SLA时限的工单，协调售后服务部和FAE加快处理。",
    ]),
    ("h2", "2. 客服中心"),
    ("p", "客服中心通过服务热线和在线客服受理终端消费者的咨询，能够当场解答的问题直接关闭；"
          "需要退换货或维修的，在CRM系统中为消费者创建RMA申请。"),
    ("h2", "3. 现场应用工程师（FAE）"),
    ("p", "FAE负责疑难故障的技术分析与现场支持，对同一批次出现3台及以上相同故障的情况发起质量预警，"
          "并会同质量部（QA）进行根因分析。"),
    ("h2", "4. 授权服务中心（ASC）"),
    ("p", "ASC负责产品检测、维修、换货和备件更换，检测结论录入CRM系统，作为DOA判定和保修判定的依据。"),
    ("h1", "二、服务流程"),
    ("p", "售后服务按“受理 → 判定 → RMA审核 → 维修或换货 → 回访”五个环节进行。"),
    ("h2", "1. 受理"),
    ("p", "AM或客服受理诉求后，须在CRM系统中记录产品序列号（SN）、购买凭证和故障描述。没有SN的产品不予受理RMA。"),
    ("h2", "2. 判定"),
    ("p", "产品签收后15天内出现性能故障，经ASC检测确认属于开箱即损（DOA）的，直接为客户更换新品，不走维修流程。"
          "主机保修期为1年，充电器、数据线等配件保修期为6个月，自购买发票日期起算；过保产品可付费维修。"),
    ("h2", "3. RMA审核"),
    ("p", "售后服务部在1个工作日内审核RMA申请。审核通过后系统生成RMA编号，客户凭RMA编号寄回产品或送至ASC；"
          "审核不通过的，由AM向客户说明原因。"),
    ("h2", "4. 维修或换货"),
    ("p", "维修的标准TAT为5个工作日，自ASC收到产品之日起计算。需要更换现场可更换部件（FRU）的，"
          "ASC从区域备件库调拨，备件不足时由供应链中心在2个工作日内补货。"),
    ("h2", "5. 回访"),
    ("p", "工单关闭后3个工作日内，客服中心对客户进行满意度回访，结果计入CSAT。"),
    ("h1", "三、服务级别（SLA）"),
    ("p", "售后工单按影响程度分为三级，各级响应和解决时限如下："),
    ("table", [
        ["级别", "适用情形", "首次响应", "给出解决方案"],
        ["P1", "批量质量问题或KA客户停售风险", "2小时内", "24小时内"],
        ["P2", "单台故障影响客户正常使用", "4个工作小时内", "3个工作日内"],
        ["P3", "一般咨询与配件问题", "1个工作日内", "5个工作日内"],
    ]),
    ("h1", "四、服务质量指标"),
    ("p", "售后服务部按月统计以下指标，并纳入售后团队和区域AM的KPI："),
    ("bullets", [
        "客户满意度（CSAT）不低于90%；",
        "首次接触解决率（FCR）不低于75%；",
        "维修TAT达成率不低于95%；",
        "每季度开展一次净推荐值（NPS）调研。",
    ]),
]

RND_DOC = [
    ("title", "研发项目管理规范"),
    ("p", "本规范说明星河电子新产品导入（NPI）的阶段划分、角色分工、阶段评审和工程变更要求，适用于研发中心的全部硬件项目。"),
    ("h1", "一、NPI阶段划分"),
    ("p", "一个硬件项目依次经过概念、计划、EVT、DVT、PVT、MP六个阶段，产品退市时进入EOL管理。"),
    ("bullets", [
        "概念与计划阶段：产品经理完成产品需求文档（PRD），项目经理制定项目计划和预算；",
        "EVT（工程验证测试）：验证功能设计是否实现，样机数量一般不超过50台；",
        "DVT（设计验证测试）：验证设计的可靠性、一致性，并完成CCC、RoHS等认证测试，样机约300台；",
        "PVT（生产验证测试）：在量产产线上验证工艺和测试流程，直通率须达到95%以上；",
        "MP（量产）：PVT评审通过后转入量产，由供应链中心按S&OP计划排产；",
        "EOL（停产）：由产品经理提出停产计划，售后备件须在停产后继续供应至少2年。",
    ]),
    ("h1", "二、产品经理与项目经理"),
    ("p", "公司内“PM”既可指产品经理（Product Manager），也可指项目经理（Project Manager），"
          "两者职责不同，正式文件中应写明全称，避免混淆。"),
    ("h2", "1. 产品经理（Product Manager）"),
    ("p", "产品经理对产品的市场成功负责：调研用户和竞品，编写PRD，提出产品定位和定价建议（作为制定AIP的输入），"
          "管理产品的整个生命周期，并决定产品何时进入EOL。"),
    ("h2", "2. 项目经理（Project Manager）"),
    ("p", "项目经理对项目按时、按质、按预算交付负责：制定项目计划，协调研发、质量、供应链等部门资源，"
          "跟踪进度与风险，组织各阶段评审，并每周发布项目周报。"),
    ("h1", "三、阶段评审"),
    ("p", "每个阶段结束时由项目经理组织阶段评审，评审组由研发负责人、产品经理、质量部（QA）和供应链中心代表组成。"
          "评审结论分为“通过”“有条件通过”“不通过”三种；有条件通过的遗留问题须在下一阶段评审前关闭。"),
    ("h1", "四、BOM与工程变更"),
    ("p", "物料清单（BOM）由研发工程师在ERP系统中维护，DVT阶段起BOM冻结。冻结后的任何设计或物料变更都必须走工程变更通知（ECN）流程："
          "由工程师发起ECN，经项目经理、质量部（QA）和供应链中心评审，最终由研发负责人批准，"
          "批准后由研发工程师在ERP系统中更新BOM，并通知IQC和产线执行。"),
    ("h1", "五、外部合作"),
    ("p", "采用ODM或OEM方式开发的项目，同样执行本规范的阶段评审要求；与合作方交换技术资料前须签署保密协议（NDA）。"),
]

PRICE_POLICY_DOC = [
    ("title", "销售价格管理制度"),
    ("h1", "第一章 总则"),
    ("p", "第一条 为规范星河电子产品的报价与价格审批，保障合理利润并维护渠道价格秩序，制定本制度。"),
    ("p", "第二条 本制度适用于国内各销售区域及海外业务的全部产品报价，由销售运营部负责解释，自2026年1月1日起施行。"),
    ("h1", "第二章 价格术语"),
    ("p", "第三条 厂商建议零售价（MSRP）是公司对终端消费者公布的零售价格。"),
    ("p", "第四条 年度指导价（AIP，Annual Indicative Price）是公司按渠道类型（KA、分销、线上）为每个SKU制定的年度供货指导价格，"
          "由产品部会同财务部拟定，经价格委员会审议后于每年12月发布，适用于下一自然年度。"),
    ("p", "第五条 实际成交价（AAP，Actual Achieved Price）是合同或订单中扣除折扣、返利后的实际成交单价。"
          "AAP与AIP之比称为价格达成率，是区域KPI的考核项之一。"),
    ("p", "第六条 平均销售价格（ASP）是某一产品在统计期内的销售收入除以销量，由财务部每月计算。"),
    ("h1", "第三章 报价与审批权限"),
    ("p", "第七条 客户经理（AM）负责在CRM系统中向客户报价。报价的AAP不低于AIP的，AM可直接报价。"),
    ("p", "第八条 AAP低于AIP的，须在CRM系统提交特价申请，按以下权限审批："
          "AAP不低于AIP的95%的，由区域销售总监（RSD）审批；AAP在AIP的90%至95%之间的，由销售副总裁审批；"
          "AAP低于AIP的90%的，须提交价格委员会审批。"),
    ("p", "第九条 价格委员会由销售副总裁、首席财务官（CFO）和产品部负责人组成，每两周召开一次例会，紧急申请可书面审批。"),
    ("p", "第十条 特价审批通过后有效期为30天，逾期未签订合同或未下达采购订单（PO）的，须重新申请。"),
    ("h1", "第四章 价格执行与监控"),
    ("p", "第十一条 销售订单（SO）在ERP系统中录入时，系统自动校验AAP与已审批价格，不一致的订单不得发货。"),
    ("p", "第十二条 财务部每月发布各区域的ASP和价格达成率分析；价格达成率连续两个月低于92%的区域，由销售运营部约谈区域销售总监。"),
    ("p", "第十三条 未经审批擅自低价销售、或通过返利变相降价的，视情节扣减当期绩效，情节严重的按公司奖惩制度处理。"),
    ("h1", "第五章 出口报价"),
    ("p", "第十四条 海外业务默认以FOB价格报价，客户要求时可报CIF或EXW价格，贸易条款须在合同中写明。"),
    ("p", "第十五条 出口至与中国签有自由贸易协定（FTA）的国家或地区时，AM应提醒客户申请原产地证书以享受关税优惠，"
          "相关关税差异不得计入AAP的折让。"),
    ("h1", "第六章 附则"),
    ("p", "第十六条 本制度未尽事宜，按公司财务管理制度和合同管理制度执行。"),
]

TRAINING_SLIDES = [
    ("新员工入职培训", ["星河电子科技有限公司 · 人力资源部", "2026年版"]),
    ("公司简介", [
        "星河电子成立于2012年，专注智能穿戴与音频产品",
        "主要产品：智能手表、TWS耳机、平板电脑及配件",
        "销售网络覆盖国内七大区域及海外市场",
        "核心价值观：客户第一、求真务实、协作共赢、持续创新",
    ]),
    ("组织架构", [
        "研发中心：产品研发与NPI项目管理",
        "产品部：产品规划、PRD、定价建议",
        "供应链中心：采购、计划、制造与物流（ERP、MES、WMS）",
        "销售部：国内区域销售与海外业务，区域由区域销售总监（RSD）负责",
        "售后服务部：退换货、维修与客户满意度",
        "职能部门：财务部、人力资源部（HR）、IT部、行政部",
    ]),
    ("入职第一天", [
        "9:00 到总部一楼前台报到，领取工牌",
        "到HR办理入职手续：签订劳动合同与保密协议（NDA），录入个人信息",
        "到IT服务台领取笔记本电脑和域账号，完成“星河令牌”绑定",
        "下午参加入职培训开班仪式，认识你的导师和HRBP",
    ]),
    ("入职培训安排（共3天）", [
        "第1天：公司文化、组织架构、人事制度（考勤、假期、薪酬福利）",
        "第2天：产品知识与售后服务流程（RMA、SLA）",
        "第3天：常用系统操作与信息安全规范，结业考试",
        "结业考试80分及格，不及格者一周内补考",
    ]),
    ("试用期与绩效", [
        "试用期为3个月，与直属上级共同制定试用期KPI",
        "试用期满前两周，由直属上级和HRBP进行转正评估",
        "转正后参加每半年一次的绩效考核，并制定个人发展计划（IDP）",
    ]),
    ("常用系统", [
        "OA系统：请假、加班、报销、出差申请、会议室预订",
        "HR自助平台：假期余额、工资条、证明申请",
        "IT服务门户：报修、软件申请、权限申请",
        "CRM系统：客户、报价、售后工单与RMA；ERP系统：订单、库存、BOM",
    ]),
    ("信息安全要点", [
        "远程访问内部系统只能通过公司VPN，并使用MFA动态码登录",
        "离开座位请锁屏（Win+L），密码不得告诉任何人",
        "发现钓鱼邮件或设备丢失，1小时内报告IT服务台（分机8000）",
    ]),
    ("常用缩略语", [
        "AM：客户经理；KA：重点客户；RSD：区域销售总监",
        "AIP：年度指导价；AAP：实际成交价",
        "RMA：退货授权；DOA：开箱即损；SLA：服务级别协议",
        "PM：产品经理或项目经理，请结合上下文判断",
        "完整列表见知识库中的《公司术语表》",
    ]),
]

# (区域, 覆盖省份, Q1, Q2, Q3, Q4, 同比增长%); amounts in 万元.
SALES_TARGETS = [
    ("华东", "上海、江苏、浙江、安徽、福建、江西、山东", 8200, 9600, 10400, 12800, 15),
    ("华南", "广东、广西、海南", 6500, 7200, 8100, 9700, 12),
    ("华北", "北京、天津、河北、山西、内蒙古", 5100, 5800, 6300, 7600, 10),
    ("华中", "河南、湖北、湖南", 3600, 4100, 4500, 5300, 14),
    ("西南", "重庆、四川、贵州、云南、西藏", 3200, 3700, 4000, 4900, 18),
    ("西北", "陕西、甘肃、青海、宁夏、新疆", 1500, 1700, 1900, 2300, 9),
    ("东北", "辽宁、吉林、黑龙江", 1400, 1600, 1700, 2100, 6),
    ("海外", "东南亚、中东、欧洲", 4300, 4800, 5600, 6900, 25),
]

# (指标, 权重%, 说明)
SALES_KPI = [
    ("销售额达成率", 40, "实际销售额 ÷ 区域年度销售目标"),
    ("回款率", 20, "按时回款金额 ÷ 应收账款（AR），DSO不超过60天"),
    ("价格达成率", 15, "AAP ÷ AIP，按销售额加权平均"),
    ("新增KA客户数", 10, "当年新签约并产生订单的重点客户（KA）数量"),
    ("客户满意度", 15, "售后服务部统计的区域CSAT"),
]

SALES_NOTES = [
    "1. 本表金额单位为万元（含税），各区域目标由销售部与财务部共同制定，经总经理办公会批准。",
    "2. 季度目标按自然季度考核，年中（7月）可根据市场情况调整一次，调整须经销售副总裁批准。",
    "3. 区域销售总监（RSD）负责将区域目标分解到每位客户经理（AM），并在CRM系统中录入。",
    "4. 区域KPI权重见“KPI权重”工作表，考核结果影响区域团队的年终奖。",
    "5. 海外区域目标以人民币计，按每月初中国人民银行公布的汇率中间价折算。",
]

SECURITY_MD = """\
# 信息安全规范

本规范适用于星河电子全体员工、实习生及驻场外包人员，由IT部负责解释和监督执行。

## 一、数据分级

公司数据按敏感程度分为四级：

- **公开**：已对外发布的信息，如官网产品介绍、新闻稿；
- **内部**：仅限公司内部使用的信息，如规章制度、组织架构、内部通知；
- **秘密**：泄露后会造成损失的信息，如客户资料、AIP与AAP等价格数据、未发布的产品规划；
- **机密**：泄露后会造成严重损失的信息，如BOM成本、源代码、设计图纸、财务报表。

内部及以上级别的数据不得上传到个人网盘或公共AI工具，不得通过个人邮箱发送。

## 二、账号与密码

1. 员工使用域账号（AD账号）登录电脑、邮箱和各业务系统，多数系统已接入单点登录（SSO）。
2. 密码至少12位，须包含大写字母、小写字母、数字、符号中的至少三类，每90天修改一次，不得与最近5次相同。
3. 登录VPN、OA系统外网入口和邮箱时须进行多因素认证（MFA），动态码由“星河令牌”App生成。
4. 账号和密码不得借给他人使用，不得写在便签上或保存在未加密的文件中。

## 三、远程访问

1. 在公司以外访问内部系统，只能通过公司VPN。
2. 在机场、酒店等公共Wi-Fi环境下，必须先连接VPN再处理工作。
3. 外包研发人员通过虚拟桌面（VDI）访问开发环境，不得把代码下载到本地。

## 四、终端安全

1. 公司电脑统一安装EDR终端防护软件，员工不得卸载或停用。
2. 离开座位时须锁屏（Windows按Win+L）；电脑无操作5分钟后自动锁屏。
3. 禁止使用个人U盘、移动硬盘拷贝内部及以上级别的数据。确需向外部发送文件的，在“IT服务门户”提交“文件外发申请”，经直属上级审批后由数据防泄漏（DLP）系统放行。
4. 软件只能从“软件中心”安装，或经IT部审批后安装。

## 五、个人设备办公（BYOD）

1. 员工可以用个人手机收发公司邮件、使用OA系统移动端，但须先安装“星河移动办公”App并加入移动设备管理（MDM），手机须设置锁屏密码。
2. 个人电脑不得直接接入办公网络“XH-Office”，只能连接访客网络“XH-Guest”。
3. 个人设备丢失时，须在2小时内报告IT服务台，由IT远程擦除设备上的公司数据。

## 六、安全事件上报

发现钓鱼邮件、电脑中毒、账号异常登录、数据泄露或公司设备丢失时，须在1小时内报告IT服务台（分机8000），不要自行处理或转发可疑邮件。IT部接报后按P1级事件处理。

## 七、违规处理

违反本规范的，视情节给予警告、通报批评、扣减绩效直至解除劳动合同；造成损失的，依法追究责任。
"""

TRAVEL_MD = """\
# 差旅管理办法

本办法规定星河电子员工因公出差的申请、交通、住宿、补贴和报销标准，由财务部负责解释。

## 一、出差申请

1. 出差前须在OA系统提交“出差申请”，写明目的地、时间和预算，经直属上级批准；境外出差还需分管副总裁批准。
2. 审批通过后，在“星河商旅”平台预订机票和酒店，费用由公司与平台统一结算，员工无需垫付。
3. 需要预支费用的，可在OA系统提交“借款申请”，单次借款不超过1万元。

## 二、交通标准

| 职级 | 飞机 | 火车/高铁 |
| --- | --- | --- |
| 普通员工 | 经济舱 | 二等座 |
| 经理、总监 | 经济舱 | 一等座 |
| 副总裁及以上 | 公务舱 | 一等座 |

1. 单程600公里以内的城市之间，原则上乘坐高铁或动车。
2. 出差地的市内交通（出租车、网约车、地铁）凭票实报实销。

## 三、住宿标准

每人每晚的住宿费上限如下（单位：元）：

| 城市类别 | 普通员工 | 经理、总监 | 副总裁及以上 |
| --- | --- | --- | --- |
| 一线城市（北京、上海、广州、深圳） | 600 | 800 | 实报实销 |
| 省会城市及计划单列市 | 450 | 600 | 实报实销 |
| 其他城市 | 350 | 500 | 实报实销 |

超出标准的部分由个人承担；同性别员工同行时原则上合住一间。

## 四、出差补贴

1. 境内出差伙食补贴每天100元，按实际出差天数计算，无需发票。
2. 境外出差伙食补贴每天50美元，按出发当月的汇率中间价折算为人民币。
3. 客户招待等招待费用须事先在OA系统申请，与差旅费一并计入T&E费用。

## 五、报销

1. 出差结束后30天内，在OA系统“费用报销”中提交差旅报销单，附行程单、住宿发票和其他票据。
2. 有借款的，报销时先冲销借款，多退少补。
3. 报销单经直属上级审批、财务审核后，于每周四统一打入工资卡。
4. 虚报、重复报销差旅费用的，一经查实，追回款项并按公司奖惩制度处理。
"""

# Written in GBK, as older Windows tools still save text files.
ADMIN_GUIDE_TXT = """\
办公楼行政服务指南

一、访客接待
1. 访客来访须由接待员工提前一天在OA系统“访客预约”中登记访客姓名、单位和来访时间。
2. 访客到达后凭身份证在一楼前台换取访客证，离开时交还前台。
3. 访客须由接待员工全程陪同，不得单独进入研发实验室和仓库。

二、快递收发
1. 一楼收发室开放时间为工作日9:00至18:00。
2. 个人快递到达后，收发室会发送短信通知，请在3天内领取，逾期退回。
3. 寄送公司文件和样品使用公司月结快递，在收发室填写寄件登记表，费用计入部门预算。

三、停车
1. 地下车库设有员工车位，按月申请，每月150元，从工资中扣除。
2. 新能源车充电桩位于地下二层，充电后请及时挪车。
3. 访客车辆凭前台开具的停车券免费停放4小时。

四、消防与安全
1. 公司每季度组织一次消防疏散演练，全体员工须参加。
2. 发生火警时，按疏散指示沿最近的安全通道撤离，不得乘坐电梯，集合点为园区东侧广场。
3. 各楼层配有灭火器和应急药箱，位置见楼层平面图。
"""

README_MD = """\
# 知识库目录说明

本目录存放企业知识助手使用的全部知识。示例内容属于虚构公司“星河电子科技有限公司”，由 `scripts/build_sample_knowledge.py` 生成，可整体替换为贵公司的资料。

## 目录与文件要求

### glossary/ 术语表

放 `.xlsx`、`.xls`、`.csv` 格式的术语表，可以是缩略语表（缩略语 + 英文全称 + 中文解释），也可以是名词解释表（术语 + 定义）。表头上方可以有标题行（如合并单元格的“××公司常用缩略语表”）。表头不必用固定的词：助手按含义识别，下表只是常见写法，“缩写词”“英文名”“术语名称”“名词解释”之类的变体同样能认出，表头里的“（必填）”、星号和序号会被忽略。

| 列 | 常见的表头词 |
| --- | --- |
| 缩略语 | 缩略语、缩写、简称、外语词缩略语、Abbreviation、Acronym |
| 英文全称 | 英文全称、全称、外语词全称、Full name、English、Stands for |
| 中文解释 | 中文解释、中文释义、释义、中文译名、Meaning、Description |
| 术语 | 术语、名词、词条、名称、概念、Term、Keyword |
| 定义 | 定义、释义、解释、说明、名词解释、Definition、Explanation |
| 其他（可选） | 类别/Category、备注/Note、或译为/别名/Alias |

- 需要两列名称（缩略语、英文全称、中文解释中任两列），或一列术语加一列定义。“释义”“解释”一列写的是整句话时，按定义读取。
- 没有缩略语的术语（如“内购”“星河令牌”“授权服务中心”）写在“术语”列，定义写在“定义”列；问“什么是星河令牌？”时，助手直接用术语表回答并注明出处。
- 同一缩略语有多个含义时，分多行填写（如 FTA 的“自由贸易协定”和“自由贸易区”），助手回答时会列出全部含义。
- 一个单元格可以写同一缩略语的多种写法，用空格或逗号分隔，如 `APP App app`。

### faq/ 常见问题

放 `.xlsx`、`.xls`、`.csv` 格式的问答表。需要问题列和答案列，可选相似问题列和分类列。表头同样按含义识别，常见写法有：

| 列 | 常见的表头词 |
| --- | --- |
| 问题 | 问题、标准问题、用户问题、问法、提问、Q、Question |
| 答案 | 答案、标准答案、解答、回答、回复、答复、A、Answer |
| 相似问题（可选） | 相似问题、相似问法、其他问法、扩展问法、Similar questions |
| 分类（可选） | 分类、类别、业务分类、Category |

- 多个相似问题写在一个单元格里时，用换行、`；`、`;`、`|`、`／` 或 `、` 分隔；也可以写在下面几行，标准问题和答案留空（合并单元格即是如此）。
- 问题命中时助手直接给出表中的答案原文，因此答案要写完整、准确。

### 没有表头或表头认不出时

助手会根据单元格内容推断各列：以“？”结尾或含“吗/怎么/如何”的短句是问题，较长的完整句子是答案或定义，大写字母缩写是缩略语。推断结果写进该文件的提示，例如“工作表“IT”按内容推断：B列为问题，C列为答案（无表头）”，请在“知识管理”页核对。仍无法识别的工作表会被跳过并说明需要哪些列；整个文件都无法识别时报错。一个工作簿的每个工作表分别识别，“知识管理”页的“识别结果”一列列出每个工作表的表头行、各列含义和读取条数。

### docs/ 文档

放制度、流程、培训材料等文档，支持 `.pdf`、`.docx`、`.pptx`、`.xlsx`、`.md`、`.txt`（UTF-8 或 GBK 编码）、`.html`，可以建子目录。PDF 必须含可复制的文字（扫描件需先做文字识别）；PDF 按版面还原段落（换行处不会把句子断开），字号明显大于正文的行作为标题。Word 文档的编号列表保留编号，表格按行保留。文档使用标题层级时，助手引用出处会更准确。

## 更新知识

增删或修改文件后，运行 `python -m agent ingest` 重新建立索引；只有发生变化的文件会被重新处理。提问（`python -m agent ask`）、评测和网页应用在回答前也会自动更新索引。Office 打开文件时产生的临时锁文件（`~$*.xlsx` 等）会被忽略。

## 在网页上补充知识：待完善与一键修正

“知识管理”页下方的“知识维护”（开启登录时只有管理员可见）列出没找到答案、被点了 👎 或置信度低的问题，按意思分组，问得多的和最新的在前，并列出助手考虑过的候选。在问题组上可以一键：

- **加为已有问答的相似问题**：以后这些问法直接得到那条问答的答案；
- **新建问答**：在页面里填写问题和答案，其他问法作为相似问题；
- **新增术语**：填写缩略语、英文全称、中文名称或定义。

修正写入两个专门的文件，不会改动任何人原来的表：

| 文件 | 表头 |
| --- | --- |
| faq/补充问答.xlsx | 问题 / 相似问题 / 答案 / 分类 |
| glossary/补充术语.xlsx | 缩略语 / 英文全称 / 中文名称 / 定义 |

这两个文件和其他表格一样被读取，可以直接用 Excel 打开修改、删除行，或把内容搬进正式的表里（搬完删掉对应的行即可）。给其他文件中的问答加相似问题时，补充问答.xlsx 里会写一行同样的问题和答案，附上新的问法。写入后索引立即更新，问题组从待完善中移除。“命中测试”可以输入任意问题，查看它被如何理解、各候选的分数和最终判断，不会记入问题日志。

## 示例内容

| 文件 | 内容 |
| --- | --- |
| glossary/公司术语表.xlsx | 公司常用缩略语（标题行 + 序号/缩略语/英文全称/中文解释） |
| glossary/IT部门术语.xlsx | IT部门术语（缩写/全称/释义/备注） |
| faq/员工常见问题.xlsx | 人事、IT、财务、行政、售后常见问题 |
| docs/产品售后服务流程.docx | AM、RMA、DOA、SLA等售后流程 |
| docs/研发项目管理规范.docx | NPI阶段、产品经理与项目经理、ECN |
| docs/销售价格管理制度.pdf | AIP、AAP、特价审批权限 |
| docs/新员工入职培训.pptx | 入职第一天、培训安排、试用期 |
| docs/2026年区域销售目标.xlsx | 各区域季度目标与KPI权重 |
| docs/信息安全规范.md | 数据分级、密码、VPN、BYOD |
| docs/差旅管理办法.md | 交通、住宿、补贴与报销标准 |
| docs/办公楼行政服务指南.txt | 访客、快递、停车、消防（GBK编码） |

## English summary

This folder holds everything the assistant knows. The sample content belongs to a fictional company, 星河电子, and is generated by `scripts/build_sample_knowledge.py`.

- Headers are recognised by meaning, not from a fixed list: each header cell is scored against the words for each column (Chinese and English, with variants), and when the header is missing or unfamiliar the columns are inferred from their cells (questions end in ？ or ask with 吗/怎么/如何, answers and definitions are sentences, abbreviations are capitals). The file's warnings say what was inferred ("按内容推断：B列为问题，C列为答案"), and the knowledge tab's 识别结果 column shows how each sheet was read. A sheet that cannot be understood is skipped, naming the columns it needs.
- `glossary/`: abbreviation sheets (two of abbreviation 缩略语/缩写/Abbreviation, full name 英文全称/全称/Full name, meaning 中文解释/释义/Meaning) or term–definition sheets (术语/名词/Term + 定义/说明/Definition; terms such as 内购 or 星河令牌 need no abbreviation). Optional 类别/备注/别名. Several meanings go on several rows; several spellings may share one cell (`APP App app`).
- `faq/`: question/answer sheets (问题/标准问题/用户问题/Q + 答案/标准答案/解答/A), optional similar questions (相似问题/其他问法; separated by new lines, ；, ;, |, ／ or 、, or on the rows below with the question left empty) and 分类/category. Every sheet of a workbook is read on its own. A matched question is answered with the stored answer verbatim.
- `docs/`: pdf, docx, pptx, xlsx, md, txt (UTF-8 or GBK) and html documents, in subfolders if you like. PDF paragraphs are rebuilt from the page layout (no line breaks in mid-sentence; larger lines become headings); Word numbered lists keep their numbers and tables their rows.
- Fixes made from the app's 待完善 pane (or the API's `/v1/knowledge/faq` and `/v1/knowledge/terms`) are written to `faq/补充问答.xlsx` (问题/相似问题/答案/分类) and `glossary/补充术语.xlsx` (缩略语/英文全称/中文名称/定义), never into anyone's own sheet; they are ordinary sheets that may be edited, emptied or moved into the main files. Similar questions for an entry of another file are a row with that entry's question and answer plus the new wordings.
- After changing files run `python -m agent ingest`; only changed files are reprocessed, and `ask`, `eval` and the app refresh the index themselves. Office lock files (`~$*.xlsx`) are ignored.
"""

# ---------------------------------------------------------------------------
# Writers
# ---------------------------------------------------------------------------


def write_company_glossary(path: Path) -> None:
    """The reference layout: a merged title row above 序号/缩略语/英文全称/中文解释."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "缩略语"
    sheet.append(["星河电子常用缩略语表"])
    sheet.merge_cells("A1:D1")
    sheet["A1"].font = Font(bold=True, size=14)
    sheet["A1"].alignment = Alignment(horizontal="center")
    sheet.append(["序号", "缩略语", "英文全称", "中文解释"])
    for number, (abbreviation, english, chinese) in enumerate(COMPANY_TERMS, start=1):
        sheet.append([number, abbreviation or None, english or None, chinese])
    _bold_row(sheet, 2)
    _column_widths(sheet, [8, 16, 40, 36])
    _save_workbook(workbook, path)


def write_it_glossary(path: Path) -> None:
    """The IT department's own layout: no title row, other header words and a 备注 column."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "IT术语"
    sheet.append(["缩写", "全称", "释义", "备注"])
    for abbreviation, english, chinese, note in IT_TERMS:
        sheet.append([abbreviation or None, english or None, chinese, note or None])
    _bold_row(sheet, 1)
    _column_widths(sheet, [10, 36, 26, 44])
    _save_workbook(workbook, path)


def write_faq(path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "常见问题"
    sheet.append(["问题", "相似问题", "答案", "分类"])
    for question, similar, answer, category in FAQ:
        sheet.append([question, "\n".join(similar), answer, category])
    _bold_row(sheet, 1)
    _column_widths(sheet, [28, 36, 80, 8])
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    _save_workbook(workbook, path)


def write_sales_targets(path: Path) -> None:
    """Amounts as plain numbers (no formulas), so readers without Excel see the totals."""
    workbook = Workbook()
    targets = workbook.active
    targets.title = "区域目标"
    targets.append(["2026年区域销售目标（单位：万元）"])
    targets.merge_cells("A1:H1")
    targets["A1"].font = Font(bold=True, size=14)
    targets.append(["区域", "覆盖省份", "第一季度", "第二季度", "第三季度", "第四季度", "全年目标", "同比增长（%）"])
    for region, provinces, q1, q2, q3, q4, growth in SALES_TARGETS:
        targets.append([region, provinces, q1, q2, q3, q4, q1 + q2 + q3 + q4, growth])
    quarter_totals = [sum(row[i] for row in SALES_TARGETS) for i in range(2, 6)]
    targets.append(["合计", "", *quarter_totals, sum(quarter_totals), None])
    _bold_row(targets, 2)
    _column_widths(targets, [8, 40, 10, 10, 10, 10, 10, 14])

    kpi = workbook.create_sheet("KPI权重")
    kpi.append(["指标", "权重（%）", "计算方法"])
    for row in SALES_KPI:
        kpi.append(list(row))
    _bold_row(kpi, 1)
    _column_widths(kpi, [16, 10, 48])

    notes = workbook.create_sheet("说明")
    notes.append(["说明"])
    for line in SALES_NOTES:
        notes.append([line])
    _bold_row(notes, 1)
    _column_widths(notes, [90])
    _save_workbook(workbook, path)


def write_docx(blocks: list, path: Path) -> None:
    document = Document()
    for kind, content in blocks:
        if kind == "title":
            document.core_properties.title = content
            document.add_heading(content, level=0)
        elif kind == "h1":
            document.add_heading(content, level=1)
        elif kind == "h2":
            document.add_heading(content, level=2)
        elif kind == "p":
            document.add_paragraph(content)
        elif kind == "bullets":
            for item in content:
                document.add_paragraph(item, style="List Bullet")
        elif kind == "table":
            table = document.add_table(rows=len(content), cols=len(content[0]))
            table.style = "Table Grid"
            for row_cells, values in zip(table.rows, content):
                for table_cell, value in zip(row_cells.cells, values):
                    table_cell.text = value
        else:
            raise ValueError(f"unknown block kind {kind!r}")
    document.core_properties.author = COMPANY
    document.core_properties.last_modified_by = COMPANY
    document.core_properties.revision = 1
    document.save(path)
    _normalise_office_zip(path)


def write_pdf(blocks: list, path: Path) -> None:
    """A text PDF in the built-in CID font STSong-Light, whose Chinese text extracts cleanly."""
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    font = "STSong-Light"
    styles = {
        "title": ParagraphStyle("title", fontName=font, fontSize=18, leading=26, alignment=1, spaceAfter=12),
        "h1": ParagraphStyle("h1", fontName=font, fontSize=14, leading=22, spaceBefore=10, spaceAfter=6),
        "p": ParagraphStyle("p", fontName=font, fontSize=11, leading=18, wordWrap="CJK", spaceAfter=4),
    }
    title = next(content for kind, content in blocks if kind == "title")
    story = [Paragraph(content, styles[kind]) for kind, content in blocks]
    document = SimpleDocTemplate(str(path), pagesize=A4, invariant=1, title=title, author=COMPANY,
                                 leftMargin=56, rightMargin=56, topMargin=56, bottomMargin=56)
    document.build(story)


def write_pptx(slides: list, path: Path) -> None:
    presentation = Presentation()
    title_layout, content_layout = presentation.slide_layouts[0], presentation.slide_layouts[1]
    for index, (title, lines) in enumerate(slides):
        slide = presentation.slides.add_slide(title_layout if index == 0 else content_layout)
        slide.shapes.title.text = title
        body = slide.placeholders[1].text_frame
        body.text = lines[0]
        for line in lines[1:]:
            body.add_paragraph().text = line
    properties = presentation.core_properties
    properties.title = slides[0][0]
    properties.author = COMPANY
    properties.last_modified_by = COMPANY
    properties.revision = 1
    presentation.save(path)
    _normalise_office_zip(path)


def _bold_row(sheet, row: int) -> None:
    for cell in sheet[row]:
        cell.font = Font(bold=True)


def _column_widths(sheet, widths: list[int]) -> None:
    for index, width in enumerate(widths):
        sheet.column_dimensions[chr(ord("A") + index)].width = width


def _save_workbook(workbook: Workbook, path: Path) -> None:
    workbook.properties.creator = COMPANY
    workbook.save(path)
    _normalise_office_zip(path)


def _normalise_office_zip(path: Path) -> None:
    """Rewrite an OOXML package with fixed timestamps so that rebuilding gives identical bytes."""
    with zipfile.ZipFile(path) as original:
        members = [(info, original.read(info)) for info in original.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as rebuilt:
        for info, data in members:
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)",
                              rb"\g<1>" + FIXED_W3C_TIME.encode() + rb"\g<3>", data)
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            rebuilt.writestr(fixed, data)


def build(out: Path) -> list[Path]:
    """Write every sample file under `out` and return their paths."""
    for folder in ("glossary", "faq", "docs"):
        (out / folder).mkdir(parents=True, exist_ok=True)
    written = {
        out / "glossary" / "公司术语表.xlsx": write_company_glossary,
        out / "glossary" / "IT部门术语.xlsx": write_it_glossary,
        out / "faq" / "员工常见问题.xlsx": write_faq,
        out / "docs" / "2026年区域销售目标.xlsx": write_sales_targets,
        out / "docs" / "产品售后服务流程.docx": lambda p: write_docx(AFTER_SALES_DOC, p),
        out / "docs" / "研发项目管理规范.docx": lambda p: write_docx(RND_DOC, p),
        out / "docs" / "销售价格管理制度.pdf": lambda p: write_pdf(PRICE_POLICY_DOC, p),
        out / "docs" / "新员工入职培训.pptx": lambda p: write_pptx(TRAINING_SLIDES, p),
    }
    for path, writer in written.items():
        writer(path)
    texts = {
        out / "docs" / "信息安全规范.md": (SECURITY_MD, "utf-8"),
        out / "docs" / "差旅管理办法.md": (TRAVEL_MD, "utf-8"),
        out / "docs" / "办公楼行政服务指南.txt": (ADMIN_GUIDE_TXT, "gbk"),
        out / "README.md": (README_MD, "utf-8"),
    }
    for path, (text, encoding) in texts.items():
        path.write_bytes(text.encode(encoding))
    return [*written, *texts]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "knowledge", help="folder to write into")
    args = parser.parse_args()
    for path in build(args.out):
        print(path.relative_to(args.out))


if __name__ == "__main__":
    main()
